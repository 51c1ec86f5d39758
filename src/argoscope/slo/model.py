"""What an SLO is once read from a spec, whichever form it was written in.

An `Objective` holds one SLO: its name, the SLI it is measured by, the objective (the share
of good events, 0..1) over a rolling window, the traffic a page needs (`min_events`) and the
labels its alerts route by. SLIs come in two budgeting methods (OpenSLO's words):
`Occurrences` (good events over all events: runs, step attempts, check results, or custom
counters) and `Timeslices` (good slices of time over all slices: freshness, or a custom ratio
held per slice). `argoscope.slo.sli` turns each into PromQL.
"""

from __future__ import annotations

from dataclasses import dataclass


class SpecError(ValueError):
    """A spec that cannot be turned into rules: one line naming the file, the SLO and the field."""

    def __init__(self, file: str, slo: str, field: str, message: str) -> None:
        self.file, self.slo, self.field, self.message = file, slo, field, message
        where = " ".join(message.split())  # one line whatever YAML or the caller put in it
        super().__init__(f"{file}: slo {slo}: {field}: {where}")


@dataclass(frozen=True)
class Scope:
    """Which pipeline an argoscope SLI reads: `namespace` None means every namespace (each
    namespace's pipeline of that name is held to the objective on its own)."""

    pipeline: str
    namespace: str | None = None


@dataclass(frozen=True)
class RunSuccess:
    """Finished runs (`argoscope_workflow_runs_total`); Failed and Error ones are bad."""

    scope: Scope


@dataclass(frozen=True)
class Freshness:
    """Timeslices: a slice is bad while the last successful run is older than `max_age_s`."""

    scope: Scope
    max_age_s: int


@dataclass(frozen=True)
class StepLatency:
    """Attempts of one step (`argoscope_step_duration_seconds`); slower than
    `threshold_s` (a bucket bound of the histogram) is bad."""

    scope: Scope
    step: str
    threshold_s: int


@dataclass(frozen=True)
class ChecksPassing:
    """Check results (`argoscope_check_results_total`); failed and error ones are bad."""

    scope: Scope
    step: str | None = None
    check: str | None = None


@dataclass(frozen=True)
class Query:
    """A Prometheus query of an OpenSLO ratio metric: a counter selector, or an expression
    with `{{.window}}` (sloth's convention) that returns the events within that window."""

    text: str

    @property
    def templated(self) -> bool:
        """Whether the query windows itself (`{{.window}}`) rather than being a selector."""
        return "{{.window}}" in self.text


@dataclass(frozen=True)
class Ratio:
    """An OpenSLO ratioMetric: `total` and exactly one of `good` or `bad`."""

    total: Query
    good: Query | None = None
    bad: Query | None = None


@dataclass(frozen=True)
class CustomOccurrences:
    """An OpenSLO ratio metric budgeted by occurrences."""

    ratio: Ratio


@dataclass(frozen=True)
class CustomTimeslices:
    """An OpenSLO ratio metric budgeted by timeslices: a slice is bad when its good share is
    below `slice_target`."""

    ratio: Ratio
    slice_target: float
    slice_s: int


Sli = RunSuccess | Freshness | StepLatency | ChecksPassing | CustomOccurrences | CustomTimeslices
TIMESLICE_SLIS = (Freshness, CustomTimeslices)


@dataclass(frozen=True)
class Objective:
    """One SLO, ready for rule generation."""

    name: str
    file: str
    sli: Sli
    objective: float
    window_s: int
    min_events: int
    team: str

    @property
    def slice_s(self) -> int | None:
        """The timeslice length for a Timeslices SLI (the rule group's interval), else None."""
        if isinstance(self.sli, Freshness):
            return 60
        if isinstance(self.sli, CustomTimeslices):
            return self.sli.slice_s
        return None

    @property
    def scope(self) -> Scope | None:
        """The pipeline an argoscope SLI reads, None for a custom (OpenSLO) SLI."""
        return None if isinstance(self.sli, (CustomOccurrences, CustomTimeslices)) else self.sli.scope
