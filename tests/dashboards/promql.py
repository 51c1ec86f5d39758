"""PromQL of Grafana queries: substitute Grafana variables the way dashboard-linter does, parse
with promql-parser, and walk the syntax tree with each node's ancestors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import promql_parser

from tests.support.grouping import children

# Grafana's time-range macros become distinctive durations, so that a rule can tell
# `[$__rate_interval]` from `[$__range]` or a literal window after parsing.
TIME_MACROS = {
    "__rate_interval": timedelta(seconds=7919),
    "__interval": timedelta(seconds=7907),
    "__range": timedelta(seconds=7901),
}
# $name, ${name} and ${name:format}, and the deprecated [[name]].
VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]")


def variables_in(expr: str) -> set[str]:
    """The names of the Grafana variables an expression refers to."""
    return {next(group for group in match.groups() if group) for match in VARIABLE.finditer(expr)}


def substitute(expr: str) -> str:
    """The expression with Grafana variables replaced by values Prometheus would accept.

    Time macros become durations (in seconds); any other variable becomes a plain word, which
    is valid inside a quoted matcher value and invalid anywhere else, as in Grafana.
    """
    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name in TIME_MACROS:
            return f"{int(TIME_MACROS[name].total_seconds())}s"
        return f"argoscope_variable_{name}"

    return VARIABLE.sub(value, expr)


def parse(expr: str) -> promql_parser.Expr:
    """Parse a Grafana PromQL query after substituting its variables; ValueError if invalid."""
    return promql_parser.parse(substitute(expr))


def label_values_selector(query: str) -> str | None:
    """The series selector of a `label_values(selector, label)` variable query, if any."""
    match = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", query)
    return match.group(1) if match else None


def walk(node: object, ancestors: tuple[object, ...] = ()) -> Iterator[tuple[object, tuple[object, ...]]]:
    """Every node, depth first, with its ancestors (closest last)."""
    yield node, ancestors
    for child in children(node):
        yield from walk(child, (*ancestors, node))


def selectors(node: object) -> Iterator[promql_parser.VectorSelector]:
    """Every vector selector of an expression."""
    for found, _ in walk(node):
        if isinstance(found, promql_parser.VectorSelector):
            yield found
