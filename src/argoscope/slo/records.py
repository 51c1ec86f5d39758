"""The names of the series the SLO rules record (the contract the dashboard and alerts read).

Every recorded series carries `slo` (the SLO's name) and, for argoscope's own SLIs, the
`cluster`, `namespace` and `pipeline` of the series it was computed from.
"""

from __future__ import annotations

from argoscope.slo.windows import window_name

PREFIX = "argoscope_slo"
# The SLI's events and bad events within a window, and their ratio.
EVENTS = PREFIX + ":sli_events:increase{window}"
ERRORS = PREFIX + ":sli_errors:increase{window}"
ERROR_RATIO = PREFIX + ":sli_error:ratio_rate{window}"
# Timeslices SLIs: 1 for a bad slice, 0 for a good one, one sample per slice.
TIMESLICE_ERROR = PREFIX + ":sli_error:timeslice"
OBJECTIVE = PREFIX + ":objective:ratio"
BUDGET_REMAINING = PREFIX + ":error_budget_remaining:ratio"
ALERT = "ArgoscopeErrorBudgetBurn"
# Labels on every recorded series (custom OpenSLO SLIs keep whatever their queries return).
LABELS = ("slo", "cluster", "namespace", "pipeline")


def events(window_s: int) -> str:
    """`argoscope_slo:sli_events:increase<window>`."""
    return EVENTS.format(window=window_name(window_s))


def errors(window_s: int) -> str:
    """`argoscope_slo:sli_errors:increase<window>`."""
    return ERRORS.format(window=window_name(window_s))


def error_ratio(window_s: int) -> str:
    """`argoscope_slo:sli_error:ratio_rate<window>`."""
    return ERROR_RATIO.format(window=window_name(window_s))


def window_independent() -> list[str]:
    """Every recorded name whatever the SLO window: those of the alert windows, the slices,
    the objective and the budget (the SLO window's own names depend on the spec)."""
    from argoscope.slo.windows import alert_windows

    return [*(name(w) for w in alert_windows() for name in (events, errors, error_ratio)),
            TIMESLICE_ERROR, OBJECTIVE, BUDGET_REMAINING]
