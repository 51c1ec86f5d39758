"""The multi-window, multi-burn-rate alert conditions and how their factors scale.

From the SRE workbook ("Alerting on SLOs", method 6): a condition holds when the error ratio
burns the budget `factor` times faster than the objective allows over a long window *and*
over a short window (one twelfth of it, so the alert resets soon after the burn stops).
The workbook's factors are for a 30-day window: 14.4 is 2% of the budget in an hour, 6 is 5%
in 6 hours, 3 is 10% in a day, 1 is 10% in 3 days. For another window the factor keeps the
same share of the budget: factor x window / 30d (28d: 13.44, 5.6, 2.8, 0.933).
"""

from __future__ import annotations

from dataclasses import dataclass

from argoscope.slo.durations import format_duration

DAY = 86400
REFERENCE_WINDOW_S = 30 * DAY
# The SLO window: long enough to hold the slowest condition (3 days) several times over, and
# no longer than a quarter (Prometheus must keep that much history: --storage.tsdb.retention).
MIN_WINDOW_S = 7 * DAY
MAX_WINDOW_S = 90 * DAY
DEFAULT_WINDOW_S = 28 * DAY


@dataclass(frozen=True)
class Condition:
    """One burn-rate condition: `factor` x the sustainable rate over both windows."""

    severity: str
    long_s: int
    short_s: int
    reference_factor: float

    def factor(self, window_s: int) -> float:
        """The burn-rate threshold for an SLO window of `window_s` seconds."""
        return round(self.reference_factor * window_s / REFERENCE_WINDOW_S, 6)

    @property
    def pages(self) -> bool:
        """Whether this condition pages (critical) rather than opening a ticket (warning)."""
        return self.severity == "critical"


CONDITIONS: tuple[Condition, ...] = (
    Condition("critical", 3600, 300, 14.4),
    Condition("critical", 6 * 3600, 1800, 6.0),
    Condition("warning", DAY, 2 * 3600, 3.0),
    Condition("warning", 3 * DAY, 6 * 3600, 1.0),
)
SEVERITIES = ("critical", "warning")


def alert_windows() -> list[int]:
    """Every window a condition reads, shortest first (5m ... 3d)."""
    return sorted({w for c in CONDITIONS for w in (c.long_s, c.short_s)})


def windows_for(window_s: int) -> list[int]:
    """The windows an SLO records: the alert windows and the SLO window itself."""
    return sorted({*alert_windows(), window_s})


def window_name(seconds: int) -> str:
    """The suffix of a recorded name for a window (`5m`, `1h`, `28d`)."""
    return format_duration(seconds)
