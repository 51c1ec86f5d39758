"""Grafana's side of the end-to-end tests, without a Grafana: resolve a dashboard's variables
with their own `label_values(...)` queries, substitute them into every panel query as Grafana
does, and run the queries on a real Prometheus.

Every query goes to the `datasource` variable's Prometheus; `All` becomes the variable's
`allValue` (`.*`); `$__range` is the dashboard's default time range and `$__rate_interval` what
Grafana derives for it.
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from tests.support.net import http_get

# Grafana's $__rate_interval is max($__interval + scrape interval, 4 x scrape interval); with
# the dashboards' 24h default range, $__interval is about a minute.
INTERVAL = "1m"
RATE_INTERVAL = "2m"

LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.*),\s*)?(?P<label>\w+)\)$")
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def substitute(text: str, values: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in values:
            raise AssertionError(f"variable ${name} has no value in {text!r}")
        return values[name]

    return VARIABLE.sub(replace, text)


def regex_value(values: list[str]) -> str:
    """A multi-value selection as Grafana renders it for Prometheus: an escaped alternation."""
    escaped = [re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\\\1", value) for value in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def label_values(prom_url: str, query: str) -> list[str]:
    """What Grafana's `label_values([selector,] label)` variable query returns."""
    match = LABEL_VALUES.match(query.strip())
    assert match, f"not a label_values query: {query!r}"
    params = [("match[]", match["selector"])] if match["selector"] else []
    url = (f"{prom_url}/api/v1/label/{match['label']}/values?"
           + urllib.parse.urlencode(params))
    body = json.loads(http_get(url))
    assert body["status"] == "success", body
    return sorted(body["data"])


def resolve(prom_url: str, model: Mapping[str, Any], picks: Mapping[str, str],
            may_be_empty: frozenset[str] = frozenset()) -> dict[str, str]:
    """Every variable of a dashboard, in order, as Grafana resolves them: a query variable's
    options come from its query with the earlier variables substituted; a variable in `picks`
    is set to that option (which must be offered), any other to All. Only the variables in
    `may_be_empty` may offer no value (All is then their `allValue`, as in Grafana)."""
    duration = time_range_seconds(model)
    values = {"__range": f"{duration}s", "__range_s": str(duration),
              "__range_ms": str(duration * 1000), "__interval": INTERVAL,
              "__rate_interval": RATE_INTERVAL}
    for variable in model["templating"]["list"]:
        name = variable["name"]
        if variable["type"] == "datasource":
            assert variable["query"] == "prometheus", variable
            values[name] = "prometheus"
            continue
        assert variable["type"] == "query", variable
        options = label_values(prom_url, substitute(query_text(variable), values))
        assert options or name in may_be_empty, f"{model['uid']}: variable {name} offers no value"
        if name in picks:
            assert picks[name] in options, (model["uid"], name, options)
            values[name] = regex_value([picks[name]])
        else:
            assert variable["includeAll"], (model["uid"], name)
            values[name] = variable.get("allValue") or regex_value(options)
    return values


def query_text(variable: Mapping[str, Any]) -> str:
    query = variable["query"]
    return str(query["query"] if isinstance(query, Mapping) else query)


def time_range_seconds(model: Mapping[str, Any]) -> int:
    start, end = model["time"]["from"], model["time"]["to"]
    assert end == "now", model["time"]
    match = re.fullmatch(r"now-(\d+)([mhd])", start)
    assert match, model["time"]
    return int(match[1]) * {"m": 60, "h": 3600, "d": 86400}[match[2]]


def panel_queries(model: Mapping[str, Any],
                   values: Mapping[str, str]) -> list[tuple[str, str]]:
    """(panel title, expr) of every query, checking that each goes to the Prometheus the
    `datasource` variable names (its own datasource, else its panel's)."""
    panels = []
    for panel in model.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    queries = []
    for panel in panels:
        for target in panel.get("targets", []):
            if not target.get("expr"):
                continue
            source = target.get("datasource") or panel.get("datasource") or {}
            assert source.get("type") == "prometheus", (model["uid"], panel.get("title"))
            assert substitute(source.get("uid", ""), values) == values["datasource"], (
                model["uid"], panel.get("title"), source)
            queries.append((panel.get("title", ""), target["expr"]))
    return queries


def instant(prom_url: str, promql: str) -> list[dict[str, Any]]:
    """An instant query; a query Prometheus refuses fails the test with its error."""
    url = f"{prom_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        body = json.loads(http_get(url))
    except OSError as error:
        raise AssertionError(f"Prometheus refused {promql!r}: {error}") from error
    assert body["status"] == "success", body
    assert body["data"]["resultType"] == "vector", (promql, body["data"]["resultType"])
    return list(body["data"]["result"])


def has_data(result: list[dict[str, Any]]) -> bool:
    """Data a panel can show: at least one sample that is a number (not NaN from 0/0)."""
    return any(math.isfinite(float(sample["value"][1])) for sample in result)


