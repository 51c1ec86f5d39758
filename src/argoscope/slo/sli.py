"""Each SLI as PromQL over the exporter's families: events and bad events within a window.

Occurrences SLIs count events: `events(window)` and `errors(window)` are instant-vector
expressions by `cluster, namespace, pipeline` (kubernetes-mixin style: no aggregation drops
`cluster`). Timeslices SLIs say per evaluation whether the current slice is bad
(`slice_error()`, 1 or 0); the rules count those samples over each window.

The exporter creates a counter series at its first event, already at 1, and `increase()`
cannot see the step from "no series" to 1: a daily pipeline's first failure would never
count. So, as the shipped recording rules do, a series that did not exist one window ago
counts at its full value and `increase()` counts every older one.
"""

from __future__ import annotations

import json

from argoscope.exporter.families import (
    CHECK_RESULTS,
    STEP_DURATION,
    WORKFLOW_LAST_SUCCESS,
    WORKFLOW_RUNS,
)
from argoscope.slo import records
from argoscope.slo.model import (
    ChecksPassing,
    CustomOccurrences,
    CustomTimeslices,
    Freshness,
    Objective,
    Query,
    RunSuccess,
    Scope,
    StepLatency,
)
from argoscope.slo.windows import window_name

BY = "cluster, namespace, pipeline"
FAILED_RUN_PHASES = "Failed|Error"
BAD_CHECK_STATUSES = "failed|error"


def number(value: float) -> str:
    """A float as PromQL reads it back exactly enough (no `0.050000000000000044`)."""
    return f"{value:.12g}"


def quote(value: str) -> str:
    """A PromQL string literal for a label value (quotes, backslashes and controls escaped)."""
    return json.dumps(value, ensure_ascii=False)


def selector(metric: str, scope: Scope | None, *matchers: str, **equal: str | None) -> str:
    """`metric{...}` with the scope's namespace and pipeline and the given matchers."""
    parts: list[str] = []
    if scope is not None:
        if scope.namespace is not None:
            parts.append(f"namespace={quote(scope.namespace)}")
        parts.append(f"pipeline={quote(scope.pipeline)}")
    parts += [f"{label}={quote(value)}" for label, value in equal.items() if value is not None]
    parts += matchers
    return f"{metric}{{{', '.join(parts)}}}"


def counted(series: str, window_s: int) -> str:
    """The growth of counter `series` within the window, summed by cluster, namespace and
    pipeline; a series born within the window counts in full."""
    window = window_name(window_s)
    return (f"sum by ({BY}) (\n    ({series} unless {series} offset {window})\n  or\n"
            f"    increase({series}[{window}])\n)")


def _window(query: Query, window_s: int) -> str:
    if query.templated:
        return "(" + query.text.replace("{{.window}}", window_name(window_s)) + ")"
    return counted(query.text, window_s)


def _counts(objective: Objective, window_s: int) -> tuple[str, str | None, str | None]:
    """(all events, bad events, good events) of an Occurrences SLI within the window; each
    SLI gives exactly one of bad or good."""
    sli = objective.sli
    if isinstance(sli, RunSuccess):
        runs = WORKFLOW_RUNS.exposed_name
        return (counted(selector(runs, sli.scope), window_s),
                counted(selector(runs, sli.scope, f'phase=~"{FAILED_RUN_PHASES}"'), window_s),
                None)
    if isinstance(sli, StepLatency):
        buckets = STEP_DURATION.name + "_bucket"
        # prometheus_client writes bounds as floats (`1800.0`); Prometheus 3 normalises them
        # to `1800` on ingestion: the regex matches both.
        bound = f'le=~"{sli.threshold_s}(\\\\.0)?"'
        return (counted(selector(buckets, sli.scope, 'le="+Inf"', step=sli.step), window_s),
                None,
                counted(selector(buckets, sli.scope, bound, step=sli.step), window_s))
    if isinstance(sli, ChecksPassing):
        results = CHECK_RESULTS.exposed_name
        return (counted(selector(results, sli.scope, step=sli.step, check=sli.check), window_s),
                counted(selector(results, sli.scope, f'status=~"{BAD_CHECK_STATUSES}"',
                                 step=sli.step, check=sli.check), window_s),
                None)
    if isinstance(sli, (CustomOccurrences, CustomTimeslices)):
        ratio = sli.ratio
        return (_window(ratio.total, window_s),
                _window(ratio.bad, window_s) if ratio.bad is not None else None,
                _window(ratio.good, window_s) if ratio.good is not None else None)
    raise TypeError(f"{type(sli).__name__} is not an Occurrences SLI")


def events(objective: Objective, window_s: int) -> str:
    """All events of an Occurrences SLI within the window."""
    return _counts(objective, window_s)[0]


def errors(objective: Objective, window_s: int, all_events: str) -> str:
    """Bad events of an Occurrences SLI within the window.

    `all_events` is an expression of the window's events with the same labels (the recorded
    events, `slo` summed away, or `events()` itself): it makes "no bad series" a 0, not an
    absent result, and gives SLIs that count good events their complement.
    """
    _, bad, good = _counts(objective, window_s)
    if bad is not None:
        return f"{bad}\nor\n0 * {all_events}"
    assert good is not None
    return f"clamp_min(\n  {all_events}\n-\n  (\n{good}\n  or\n  0 * {all_events}\n  ),\n0)"


def slice_error(objective: Objective) -> str:
    """1 while the current slice of a Timeslices SLI is bad, 0 while it is good."""
    sli = objective.sli
    if isinstance(sli, Freshness):
        last = selector(WORKFLOW_LAST_SUCCESS.exposed_name, sli.scope)
        return f"(time() - max by ({BY}) ({last})) > bool {sli.max_age_s}"
    if isinstance(sli, CustomTimeslices):
        total = events(objective, sli.slice_s)
        bad = errors(objective, sli.slice_s, total)
        return f"(({total}) - ({bad})) / (({total}) > 0) < bool {number(sli.slice_target)}"
    raise TypeError(f"{type(sli).__name__} is not a Timeslices SLI")


def recorded_events(objective: Objective, window_s: int) -> str:
    """The recorded events of this SLO within the window, `slo` summed away (for `or`)."""
    return f"sum without (slo) ({records.events(window_s)}{{slo={quote(objective.name)}}})"
