"""The one-line verdict every summary and report opens with: the run's phase and what its
checks say, so "Succeeded" never hides failed checks.

`Succeeded — 2 critical checks failed` (a run whose failed checks did not fail a step: the
DAG's `when:` decided instead), `Failed — data-ingestion failed`, `Succeeded — all 71 checks
passed`. One rule for `argoscope run`, `get`, the demo's summary and the HTML reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

FAILED_PHASES = frozenset({"Failed", "Error"})
BAD_STATUSES = frozenset({"failed", "error"})
# A run that succeeded; a step report's own label when its checks passed.
OK_PHASES = frozenset({"Succeeded", "passed"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """A run's (or a step's) phase and the count of its checks by outcome."""

    phase: str
    checks: int = 0
    failed: int = 0  # critical checks that failed or could not run
    warnings: int = 0  # warning results, and warning-severity checks that failed
    failed_step: str = ""

    @classmethod
    def of(cls, phase: str, results: Iterable[tuple[str, str]],
           failed_step: str = "") -> Verdict:
        """From (status, severity) pairs of every check result."""
        checks = failed = warnings = 0
        for status, severity in results:
            checks += 1
            if status in BAD_STATUSES and severity != "warning":
                failed += 1
            elif status == "warning" or status in BAD_STATUSES:
                warnings += 1
        return cls(phase, checks, failed, warnings, failed_step)

    @property
    def tone(self) -> str:
        """`bad` (red), `warn` (amber) or `ok` (green): the colour of the line."""
        if self.phase in FAILED_PHASES or self.failed:
            return "bad"
        if self.warnings or self.phase not in OK_PHASES:
            return "warn"
        return "ok"

    @property
    def text(self) -> str:
        """What follows the phase: `— 2 critical checks failed, 1 warning`."""
        parts = []
        if self.failed_step:
            parts.append(f"{self.failed_step} failed")
        if self.failed:
            parts.append(f"{self.failed} critical check{'s' if self.failed != 1 else ''} failed")
        if self.warnings:
            parts.append(f"{self.warnings} warning{'s' if self.warnings != 1 else ''}")
        if not parts:
            parts.append(f"all {self.checks} checks passed" if self.checks
                         else "no checks reported")
        return "— " + ", ".join(parts)

    @property
    def line(self) -> str:
        """The whole verdict: `Succeeded — 2 critical checks failed`."""
        return f"{self.phase} {self.text}"
