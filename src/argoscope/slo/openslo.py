"""OpenSLO v1 `kind: SLO` documents: a custom SLI as a ratio of Prometheus counters.

Supported: an inline `spec.indicator` with a `ratioMetric` (`total` and one of `good` or
`bad`, each `metricSource: {type: Prometheus, spec: {query: ...}}`), one rolling
`timeWindow`, one objective, and `budgetingMethod` `Occurrences` or `Timeslices`
(`timeSliceTarget`, `timeSliceWindow`). A query is either a counter selector
(`metric{label="value"}`: argoscope windows it, keeping `cluster`, `namespace` and
`pipeline`) or an expression holding `{{.window}}` (sloth's convention) that returns the
number of events within that window, labels and all.

argoscope's own settings ride in `metadata.annotations`: `argoscope.io/min-events` and
`argoscope.io/team`. What OpenSLO has and argoscope does not read (indicatorRef,
alertPolicies, calendar windows, RatioTimeslices) is refused by name, never ignored.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from argoscope.slo.fields import NAME, TEAM, Fields
from argoscope.slo.model import (
    CustomOccurrences,
    CustomTimeslices,
    Objective,
    Query,
    Ratio,
    Sli,
)
from argoscope.slo.shortform import DEFAULT_MIN_EVENTS, DEFAULT_TEAM
from argoscope.slo.windows import MAX_WINDOW_S, MIN_WINDOW_S, alert_windows

API_VERSION = "openslo/v1"
ANNOTATION_PREFIX = "argoscope.io/"
MIN_EVENTS_ANNOTATION = ANNOTATION_PREFIX + "min-events"
TEAM_ANNOTATION = ANNOTATION_PREFIX + "team"
BUDGETING = ("Occurrences", "Timeslices")
# A plain selector: a metric name with optional matchers, or matchers alone.
_SELECTOR = re.compile(r"^\s*(?:[a-zA-Z_:][a-zA-Z0-9_:]*\s*(?:\{.*\})?|\{.*\})\s*$", re.DOTALL)


def is_openslo(document: Mapping[str, Any]) -> bool:
    """Whether a YAML document is meant as an OpenSLO object (it names an apiVersion/kind)."""
    return "apiVersion" in document or "kind" in document


def _query(fields: Fields, key: str) -> Query:
    source = fields.mapping(key)
    source.only(("metricSource",))
    metric = source.mapping("metricSource")
    metric.only(("type", "spec", "metadata"))
    kind = metric.text("type")
    if kind.lower() != "prometheus":
        raise metric.error("type", f"{kind!r} is not supported: only Prometheus")
    spec = metric.mapping("spec")
    spec.only(("query",))
    value = spec.data.get("query")
    if not isinstance(value, str) or not value.strip():
        raise spec.error("query", "required, a Prometheus query")
    query = Query(" ".join(value.split()))
    if not query.templated and not _SELECTOR.match(query.text):
        raise spec.error("query", "must be a counter selector such as metric{label=\"value\"}, "
                                  "or an expression with [{{.window}}] that returns the events "
                                  "in that window")
    return query


# OpenSLO's metadata fields (an SLO's and an inline indicator's alike).
METADATA_FIELDS = ("name", "displayName", "labels", "annotations")


def _ratio(indicator: Fields) -> Ratio:
    indicator.only(("metadata", "spec"))
    if indicator.has("metadata"):  # a misspelt field here would pass unread otherwise
        indicator.mapping("metadata").only(METADATA_FIELDS)
    spec = indicator.mapping("spec")
    spec.only(("ratioMetric",))
    metric = spec.mapping("ratioMetric")
    metric.only(("counter", "good", "bad", "total", "rawType", "raw"))
    if metric.data.get("counter", True) is not True:
        raise metric.error("counter", "only counters (counter: true) are supported")
    for unsupported in ("raw", "rawType"):
        if metric.has(unsupported):
            raise metric.error(unsupported, "raw ratios are not supported: give good or bad "
                                            "and total counters")
    if metric.has("good") == metric.has("bad"):
        raise metric.error("good", "give exactly one of good or bad (with total)")
    return Ratio(total=_query(metric, "total"),
                 good=_query(metric, "good") if metric.has("good") else None,
                 bad=_query(metric, "bad") if metric.has("bad") else None)


def _single(fields: Fields, key: str) -> Fields:
    items = fields.data.get(key)
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], Mapping):
        raise fields.error(key, "required, a list of exactly one mapping")
    return Fields(items[0], fields.file, fields.slo, f"{fields.prefix}{key}[0].")


def parse_document(document: Mapping[str, Any], file: str) -> Objective:
    """One OpenSLO v1 SLO document as an Objective; SpecError naming the field otherwise."""
    metadata = document.get("metadata")
    raw_name = metadata.get("name") if isinstance(metadata, Mapping) else None
    slo = raw_name if isinstance(raw_name, str) and NAME.match(raw_name) else "-"
    top = Fields(document, file, slo)
    top.only(("apiVersion", "kind", "metadata", "spec"))
    if document.get("apiVersion") != API_VERSION:
        raise top.error("apiVersion", f"{document.get('apiVersion')!r} is not {API_VERSION}")
    if document.get("kind") != "SLO":
        raise top.error("kind", f"{document.get('kind')!r} is not supported: only SLO "
                                "(with an inline indicator)")
    meta = top.mapping("metadata")
    meta.only(METADATA_FIELDS)
    name = meta.text("name", pattern=NAME,
                     what="a lowercase name of letters, digits and '-' (at most 63)")
    annotations = (Fields(meta.data["annotations"], file, slo, "metadata.annotations.")
                   if isinstance(meta.data.get("annotations"), Mapping) else Fields({}, file, slo))
    # Annotations are free-form, except argoscope's own: a misspelt one (in its prefix or its
    # name) would be silently ignored, so anything close to one of ours is refused.
    known = (MIN_EVENTS_ANNOTATION, TEAM_ANNOTATION)
    ours = {key: value for key, value in annotations.data.items()
            if isinstance(key, str) and (key.startswith(ANNOTATION_PREFIX)
                                         or difflib.get_close_matches(key, known, cutoff=0.8))}
    Fields(ours, file, slo, annotations.prefix).only(known)

    spec = top.mapping("spec")
    spec.only(("description", "service", "indicator", "timeWindow", "budgetingMethod",
               "objectives", "indicatorRef", "alertPolicies"))
    for unsupported in ("indicatorRef", "alertPolicies"):
        if spec.has(unsupported):
            raise spec.error(unsupported, "not supported: give the indicator inline; argoscope "
                                          "generates the burn-rate alerts itself")
    ratio = _ratio(spec.mapping("indicator"))
    window = _single(spec, "timeWindow")
    window.only(("duration", "isRolling", "calendar"))
    if window.data.get("isRolling") is not True or window.has("calendar"):
        raise window.error("isRolling", "only rolling windows (isRolling: true) are supported")
    window_s = window.duration("duration", MIN_WINDOW_S, MAX_WINDOW_S)
    method = spec.choice("budgetingMethod", BUDGETING)
    objective = _single(spec, "objectives")
    timeslices = method == "Timeslices"
    objective.only(("displayName", "target", "targetPercent",
                    *(("timeSliceTarget", "timeSliceWindow") if timeslices else ())))
    if objective.has("targetPercent"):
        if objective.has("target"):
            raise objective.error("targetPercent", "give target or targetPercent, not both")
        percent = objective.data["targetPercent"]
        target = Fields({"targetPercent": percent / 100 if isinstance(percent, (int, float))
                         and not isinstance(percent, bool) else percent},
                        file, slo, objective.prefix).ratio("targetPercent")
    else:
        target = objective.ratio("target")
    sli: Sli = CustomOccurrences(ratio)
    if timeslices:
        sli = CustomTimeslices(ratio, objective.ratio("timeSliceTarget"),
                               # The shortest alert window (5m) must hold a whole slice.
                               objective.duration("timeSliceWindow", 60, min(alert_windows())))
    return Objective(
        name=name, file=file, sli=sli, objective=target, window_s=window_s,
        min_events=_min_events(annotations),
        team=annotations.text(TEAM_ANNOTATION, DEFAULT_TEAM, TEAM, "a lowercase team name"))


def _min_events(annotations: Fields) -> int:
    """Annotations are strings, Kubernetes style: `"5"` reads as 5 (a YAML number too)."""
    key = MIN_EVENTS_ANNOTATION
    text = annotations.data.get(key)
    if isinstance(text, str):
        if not text.strip().isdigit():
            raise annotations.error(key, f"must be a whole number, not {text!r}")
        annotations = Fields({key: int(text)}, annotations.file, annotations.slo,
                             annotations.prefix)
    return annotations.integer(key, DEFAULT_MIN_EVENTS, 1, 1_000_000)
