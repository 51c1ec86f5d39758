"""One demo from start to end: its services, its runs and what it prints, each done by its
own module (`services`, `scenarios`, `polling`, `summary`); this only puts them in order."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from argoscope import harness
from argoscope.demo import polling, summary
from argoscope.demo.scenarios import RunReport, run_scenarios, write_reports
from argoscope.demo.services import DemoServices
from argoscope.demo.state import WORKFLOW_FILE, find_repo
from argoscope.local.names import printable
from argoscope.local.summary import state_hint


class Demo:
    """The demo's services and runs. Use as a context manager: services stop on exit."""

    def __init__(self, state_dir: Path, repo: Path | None = None,
                 out: TextIO | None = None, use_prometheus: bool = True) -> None:
        self.repo = repo or find_repo()
        self.state_dir = state_dir.resolve()
        # How `argoscope get/logs` find this state directory, as the user gave it.
        self.state_hint = state_hint(state_dir)
        self.out = out or sys.stdout
        self.services = DemoServices(self.repo, self.state_dir, use_prometheus)
        self.reports: list[RunReport] = []

    @property
    def exporter(self) -> harness.Service | None:
        """The exporter, once started."""
        return self.services.exporter

    @property
    def prometheus(self) -> harness.Service | None:
        """Prometheus, once started (None when not installed or not wanted)."""
        return self.services.prometheus

    @property
    def alertmanager(self) -> harness.Service | None:
        """Alertmanager, once started (None when not installed or not wanted)."""
        return self.services.alertmanager

    def say(self, text: str) -> None:
        """One line to the user."""
        # Summaries quote step output (reasons, log tails): escape sequences are shown, not run.
        print(printable(text, keep_newlines=True), file=self.out, flush=True)

    def __enter__(self) -> Demo:
        """Start the exporter (before any run, so it counts them), then Alertmanager and
        Prometheus when installed; whatever started stops if a later one fails."""
        try:
            self.services.start_exporter()
            self.say(f"exporter started, following {self.state_dir}")
            self.services.start_monitoring()
        except BaseException:
            self.services.stop()
            raise
        if self.services.missing:
            self.say(summary.missing_note(self.services.missing))
        return self

    def __exit__(self, *exc: object) -> None:
        self.services.stop()

    def run_scenarios(self) -> list[RunReport]:
        """Run the three scenarios at the same time, with live progress; Ctrl-C stops them."""
        from argoscope.local.progress import TerminalProgress

        for line in summary.scenario_lines():
            self.say(line)
        self.reports = run_scenarios(self.repo / WORKFLOW_FILE, self.state_dir,
                                     TerminalProgress(self.out, self.state_hint))
        return self.reports

    def write_reports(self) -> str | None:
        """Write each run's HTML report; a note instead when they cannot be written."""
        return write_reports(self.reports, self.state_dir)

    def wait_for_metrics(self, timeout: float = 60.0) -> None:
        """Wait until the services show this demo's runs and alerts; say when alerts are late."""
        note = polling.wait_for_metrics(self.services, {r.workflow for r in self.reports},
                                        timeout)
        if note is not None:
            self.say(note)

    def summary_lines(self) -> Iterator[str]:
        """The summary a person reads: runs, steps, checks, reasons, alerts, and what next."""
        firing = None if self.prometheus is None else polling.firing_alerts(self.prometheus.url)
        yield from summary.summary_lines(self.reports, self.state_dir, self.state_hint, firing)

    def service_lines(self, serving: bool) -> Iterator[str]:
        """Where to look at the services while they run, or that they stopped."""
        yield from summary.service_lines(self.services, serving)
