"""Expectation suites in Great Expectations' own JSON shape, whatever form the user has them in.

A suite is ``{"name": ..., "expectations": [{"type": ..., "kwargs": {...}, "meta": {...}}]}``,
exactly what GE 1.x writes; a GE ``ExpectationSuite`` object, a path to such JSON, a dict or a
plain list of expectations are accepted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argoscope.checks.results import CheckInputError, Severity


@dataclass(frozen=True, slots=True)
class Expectation:
    """One expectation: its GE type name, its arguments and how it is reported."""

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    severity: Severity = "critical"

    @property
    def column(self) -> str | None:
        """The column the expectation is about, if any."""
        column = self.kwargs.get("column")
        return None if column is None else str(column)

    @property
    def name(self) -> str:
        """The check name: `meta.name` when given, else the type (without `expect_`) and column."""
        given = self.meta.get("name")
        if given:
            return str(given)
        short = self.type.removeprefix("expect_")
        return f"{short}:{self.column}" if self.column is not None else short

    def to_ge(self) -> dict[str, Any]:
        """The expectation as GE's configuration dict."""
        return {"type": self.type, "kwargs": dict(self.kwargs), "meta": dict(self.meta)}


@dataclass(frozen=True, slots=True)
class Suite:
    """A named list of expectations."""

    name: str
    expectations: tuple[Expectation, ...]


def _severity(raw: Any, where: str) -> Severity:
    from argoscope.checks.arguments import choice

    if raw is None:
        return "critical"
    try:
        chosen = choice("severity", raw, ("critical", "warning", "info"))
    except CheckInputError as exc:
        raise CheckInputError(f"{where}: {exc}") from None
    # GE's "info" reports without failing, as a warning does.
    return "critical" if chosen == "critical" else "warning"


def _expectation(raw: Any, where: str) -> Expectation:
    if not isinstance(raw, dict):
        raise CheckInputError(f"{where}: an expectation must be an object, not {type(raw).__name__}")
    kind = raw.get("type") or raw.get("expectation_type")
    if not isinstance(kind, str) or not kind:
        raise CheckInputError(f"{where}: expectation has no 'type'")
    kwargs = raw.get("kwargs") or {}
    meta = raw.get("meta") or {}
    if not isinstance(kwargs, dict) or not isinstance(meta, dict):
        raise CheckInputError(f"{where}: 'kwargs' and 'meta' must be objects")
    severity = _severity(raw.get("severity", meta.get("severity")), where)
    return Expectation(kind, dict(kwargs), dict(meta), severity)


def load_suite(suite: Any) -> Suite:
    """Read a suite from a GE ExpectationSuite, a JSON path, a dict or a list of expectations."""
    where = "suite"
    if isinstance(suite, Suite):
        return suite
    if isinstance(suite, (str, Path)):
        path = Path(suite)
        where = str(path)
        try:
            suite = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckInputError(f"{path}: suite file not found") from None
        except (OSError, ValueError) as exc:
            raise CheckInputError(f"{path}: not a readable JSON suite ({exc})") from None
    elif hasattr(suite, "to_json_dict"):  # a great_expectations ExpectationSuite
        suite = suite.to_json_dict()
    if isinstance(suite, list):
        suite = {"name": "suite", "expectations": suite}
    if not isinstance(suite, dict):
        raise CheckInputError(f"{where}: a suite must be an object with 'expectations'")
    raw = suite.get("expectations")
    if not isinstance(raw, list):
        raise CheckInputError(f"{where}: 'expectations' must be a list")
    expectations = tuple(
        _expectation(item, f"{where}: expectations[{index}]") for index, item in enumerate(raw))
    return Suite(str(suite.get("name") or "suite"), expectations)
