"""The demo's runs: the three scenarios, run at the same time with the local runner, read
back from the state directory, and their HTML reports."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from argoscope.local.runs import STOPPED_MESSAGE, Run, load_run, step_name

PIPELINE = "ml-reference-pipeline"


@dataclass(frozen=True)
class Scenario:
    """One demo run: its workflow parameters and what it should show."""

    name: str
    parameters: Mapping[str, str]
    shows: str


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("healthy", {}, "all checks pass; the model is deployed"),
    Scenario("drifted", {"shift-features": "mean *", "shift-scale": "3"},
             "the incoming batch drifted: drift check and accuracy gate fail, deployment skipped"),
    Scenario("faulty", {"crash": "permanent"},
             "ingestion crashes on every attempt: retries run out, the run fails"),
)
# What the three scenarios make the shipped rules fire.
EXPECTED_ALERTS = frozenset({"PipelineRunFailed", "PipelineDriftDetected",
                             "PipelineModelGateFailed"})


@dataclass
class RunReport:
    """One finished demo run: its scenario and the run read back from the state directory."""

    scenario: Scenario
    run: Run
    page: Path | None = None  # the run report, once written

    @property
    def workflow(self) -> str:
        """The run's Workflow name."""
        return self.run.name

    @property
    def phase(self) -> str:
        """The run's final phase."""
        return self.run.phase


# The step whose check results the drifted run must report after the healthy run's: the
# exporter keeps each check's latest result, and the alerts fire on the drifted one.
ORDERED_STEP = "model-validation"


class _Scenario:
    """A progress reporter for one of the demo's concurrent runs: its step lines carry the
    scenario's name, and the runner's notes print once across all runs.

    It also orders the one thing that must stay in order while the runs overlap: a run given
    `after` starts its ORDERED_STEP only once the run given `done` (the same Event) finished
    that step. The runner calls the reporter on the run's own thread just before a step's
    process starts, so waiting here holds back that step alone.
    """

    def __init__(self, inner: Any, label: str, seen: set[str], lock: threading.Lock,
                 done: threading.Event | None = None,
                 after: threading.Event | None = None) -> None:
        self.inner = inner
        self.label = label
        self.seen = seen
        self.lock = lock
        self.done = done
        self.after = after

    def note(self, message: str) -> None:
        with self.lock:
            if message in self.seen:
                return
            self.seen.add(message)
        self.inner.note(message)

    def node_changed(self, node: Any) -> None:
        ordered = node.type == "Pod" and step_name(node.display_name) == ORDERED_STEP
        if ordered and self.after is not None and node.phase == "Pending":
            self.after.wait(timeout=300)
        self.inner.node_changed(replace(node, display_name=f"{self.label}: {node.display_name}"))
        if ordered and self.done is not None and node.finished_phase:
            self.done.set()

    def finished(self, workflow: str, phase: str, message: str, path: Path) -> None:
        if self.done is not None:
            self.done.set()  # a run that never got to the step must not hold the other
        self.inner.finished(workflow, phase, message, path)



def run_scenarios(manifest_path: Path, state_dir: Path, progress: Any) -> list[RunReport]:
    """Run the three scenarios at the same time, reporting to `progress`; Ctrl-C stops them.

    At once, not one after the other: each step is a process that spends most of its
    time importing pandas and scikit-learn, and the faulty run mostly waits out its retry
    backoff, so overlapping them roughly halves the demo on two cores.
    """
    from argoscope.local.manifest import load
    from argoscope.local.runner import LocalRun, RunOptions

    seen: set[str] = set()
    lock = threading.Lock()
    validated = threading.Event()  # the healthy run's validation has finished
    order = {"healthy": {"done": validated}, "drifted": {"after": validated}}
    runs = [LocalRun(load(manifest_path),
                     RunOptions(state_dir=state_dir, parameters=dict(scenario.parameters)),
                     _Scenario(progress, scenario.name, seen, lock,
                               **order.get(scenario.name, {})))
            for scenario in SCENARIOS]
    threads = [threading.Thread(target=run.run, name=f"demo-{scenario.name}", daemon=True)
               for run, scenario in zip(runs, SCENARIOS, strict=True)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:
        validated.set()
        for run in runs:
            run.message = STOPPED_MESSAGE
            run.processes.stop()
        for thread in threads:
            thread.join()
        raise
    return [RunReport(scenario, load_run(run.workflow_path, state_dir))
            for run, scenario in zip(runs, SCENARIOS, strict=True)]


def write_reports(reports: list[RunReport], state_dir: Path) -> str | None:
    """Write each run's HTML report beside its logs; a note instead when the `reports`
    extra is missing or a page cannot be written (the demo's runs stand without them)."""
    from argoscope.reports.render import ReportsUnavailable
    from argoscope.reports.run import write_run_report

    try:
        for report in reports:
            report.page = write_run_report(state_dir, report.workflow)
    except ReportsUnavailable as error:
        return f"run reports not written: {error}"
    except (OSError, ValueError) as error:
        return f"run reports not written: {type(error).__name__}: {error}"
    return None
