"""argoscope's short SLO form: a `slos:` list, one mapping per SLO.

```yaml
slos:
  - {name: etl-success, sli: run_success, pipeline: etl, objective: 0.95, window: 28d}
  - {name: etl-freshness, sli: freshness, pipeline: etl, max_age: 26h, objective: 0.99}
  - {name: train-latency, sli: step_latency, pipeline: etl, step: train, threshold: 30m, objective: 0.9}
  - {name: etl-checks, sli: checks_passing, pipeline: etl, objective: 0.99}
```
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from argoscope.exporter.families import DURATION_BUCKETS
from argoscope.slo.durations import format_duration
from argoscope.slo.fields import NAME, TEAM, Fields
from argoscope.slo.model import (
    ChecksPassing,
    Freshness,
    Objective,
    RunSuccess,
    Scope,
    Sli,
    SpecError,
    StepLatency,
)
from argoscope.slo.windows import DEFAULT_WINDOW_S, MAX_WINDOW_S, MIN_WINDOW_S

DEFAULT_MIN_EVENTS = 5
DEFAULT_TEAM = "ml"
COMMON = ("name", "sli", "pipeline", "namespace", "objective", "window", "min_events", "team")
# The fields each SLI reads beyond the common ones.
SLI_FIELDS: dict[str, tuple[str, ...]] = {
    "run_success": (),
    "freshness": ("max_age",),
    "step_latency": ("step", "threshold"),
    "checks_passing": ("step", "check"),
}


def _sli(kind: str, fields: Fields, scope: Scope, window_s: int) -> Sli:
    if kind == "run_success":
        return RunSuccess(scope)
    if kind == "freshness":
        return Freshness(scope, fields.duration("max_age", 60, window_s))
    if kind == "step_latency":
        threshold = fields.duration("threshold", 1, int(DURATION_BUCKETS[-1]))
        if threshold not in DURATION_BUCKETS:
            bounds = ", ".join(format_duration(int(b)) for b in DURATION_BUCKETS)
            raise fields.error("threshold", f"{format_duration(threshold)} is not a bucket bound "
                                            f"of argoscope_step_duration_seconds ({bounds})")
        return StepLatency(scope, fields.text("step"), threshold)
    return ChecksPassing(scope, fields.optional_text("step"), fields.optional_text("check"))


def parse_slo(item: object, file: str, index: int) -> Objective:
    """One SLO of the `slos:` list; SpecError naming the field otherwise."""
    label = f"slos[{index}]"
    if not isinstance(item, Mapping):
        raise SpecError(file, label, "slos", f"item {index} must be a mapping, not {item!r}")
    raw_name = item.get("name")
    slo = raw_name if isinstance(raw_name, str) and NAME.match(raw_name) else label
    fields = Fields(item, file, slo)
    name = fields.text("name", pattern=NAME,
                       what="a lowercase name of letters, digits and '-' (at most 63)")
    kind = fields.choice("sli", sorted(SLI_FIELDS))
    fields.only((*COMMON, *SLI_FIELDS[kind]))
    window_s = fields.duration("window", MIN_WINDOW_S, MAX_WINDOW_S, DEFAULT_WINDOW_S)
    scope = Scope(fields.text("pipeline"), fields.optional_text("namespace"))
    return Objective(
        name=name, file=file, sli=_sli(kind, fields, scope, window_s),
        objective=fields.ratio("objective"), window_s=window_s,
        min_events=fields.integer("min_events", DEFAULT_MIN_EVENTS, 1, 1_000_000),
        team=fields.text("team", DEFAULT_TEAM, TEAM, "a lowercase team name"))


def parse_document(document: Mapping[str, Any], file: str) -> list[Objective]:
    """Every SLO of a short-form document (`{slos: [...]}`)."""
    for key in document:
        if key != "slos":
            raise SpecError(file, "-", str(key), "unknown top-level field (a short-form spec has "
                                                 "only `slos:`; OpenSLO documents need `kind: SLO`)")
    items = document.get("slos")
    if not isinstance(items, list) or not items:
        raise SpecError(file, "-", "slos", "must be a non-empty list of SLOs")
    return [parse_slo(item, file, index) for index, item in enumerate(items)]
