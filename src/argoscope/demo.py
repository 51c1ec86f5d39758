"""`argoscope demo [--serve] [--state-dir DIR] [--keep-state]`: the whole stack on one machine.

Runs the reference pipeline (`manifests/pipeline/`) three times at once with the local
runner: a healthy run that deploys, a drifted run whose drift check and accuracy gate fail so
the deployment is skipped, and a faulty run whose ingestion crashes until its retries run
out. The state directory starts clean unless --keep-state. The exporter follows it
(`--source local:DIR`); Prometheus and Alertmanager run with the shipped rules and
configuration when they are installed. Then it prints what happened, why each failure
happened and where to look next; `--serve` keeps the services running until Ctrl-C and prints
their URLs, each probed first, and without it the demo says they stopped.
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import shutil
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from argoscope import demo_services as services
from argoscope.local.runs import (
    STOPPED_MESSAGE,
    Run,
    failure_lines,
    format_duration,
    load_run,
    step_name,
)

PIPELINE = "ml-reference-pipeline"
WORKFLOW_FILE = Path("manifests/pipeline/workflow.yaml")
RULES_DIR = Path("alerts/rules")
ALERTMANAGER_CONFIG = Path("alerts/alertmanager/alertmanager.yml")
DEFAULT_STATE_DIR = Path("demo-state")
STATE_MARKER = ".argoscope-demo"
# What a demo writes in its state directory (earlier versions left no marker).
STATE_ENTRIES = frozenset({"workflows", "pods", "runs", "volumes", "services", STATE_MARKER})
# What the demo imports itself or runs in its steps and exporter: the `demo` extra.
REQUIRED_MODULES = ("prometheus_client", "kubernetes", "sklearn", "pyarrow")
INSTALL_HINT = ("install them to see alerts: `make tools` (Debian/Ubuntu, as root: apt-get "
                "install prometheus prometheus-alertmanager), or put the official release "
                "binaries from https://prometheus.io/download/ on PATH; then rerun")


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


def find_repo(start: Path | None = None) -> Path:
    """The checkout holding the manifests and rules: the working directory or one above it,
    else the one this module was installed from (an editable install)."""
    candidates = [start or Path.cwd(), *(start or Path.cwd()).parents,
                  Path(__file__).resolve().parents[2]]
    for folder in candidates:
        if (folder / WORKFLOW_FILE).is_file():
            return folder
    raise FileNotFoundError(f"{WORKFLOW_FILE} not found from {Path.cwd()}: run the demo in an "
                            "argoscope checkout")


class StateDirError(Exception):
    """The state directory cannot be used (the message says why and what to do)."""


def prepare_state_dir(state_dir: Path, keep: bool) -> None:
    """Start from a clean state directory, unless `keep`.

    Only a directory an earlier demo made (it holds the marker file, or only what a demo
    writes) or an empty one is cleared: a --state-dir pointing at anything else is refused, never deleted.
    """
    marker = state_dir / STATE_MARKER
    if state_dir.exists() and not keep:
        if not state_dir.is_dir():
            raise StateDirError(f"{state_dir} exists and is not a directory")
        entries = {entry.name for entry in state_dir.iterdir()}
        if entries and not marker.exists() and not entries <= STATE_ENTRIES:
            raise StateDirError(f"{state_dir} is not empty and was not made by the demo; "
                                "choose another --state-dir, or pass --keep-state to add to it")
        shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("made by `argoscope demo`; cleared by the next demo unless "
                      "--keep-state\n", encoding="utf-8")


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


class Demo:
    """The demo's services and runs. Use as a context manager: services stop on exit."""

    def __init__(self, state_dir: Path, repo: Path | None = None,
                 out: TextIO | None = None, use_prometheus: bool = True) -> None:
        self.repo = repo or find_repo()
        self.state_dir = state_dir.resolve()
        # How `argoscope get/logs` find this state directory, as the user gave it.
        self.state_hint = "" if state_dir == Path(".argoscope") else \
            f" --state-dir {shlex.quote(str(state_dir))}"
        self.out = out or sys.stdout
        self.use_prometheus = use_prometheus
        self.exporter: services.Service | None = None
        self.prometheus: services.Service | None = None
        self.alertmanager: services.Service | None = None
        self.missing: list[str] = []
        self.reports: list[RunReport] = []

    def say(self, text: str) -> None:
        """One line to the user."""
        print(text, file=self.out, flush=True)

    # --- services -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the exporter (before any run, so it counts them), then Alertmanager and
        Prometheus when installed."""
        workdir = self.state_dir / "services"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.exporter = services.start_exporter(self.state_dir, workdir)
        self.say(f"exporter started, following {self.state_dir}")
        if not self.use_prometheus:
            return
        am_binary = services.find_binary(services.ALERTMANAGER_BINARIES)
        prom_binary = services.find_binary(("prometheus",))
        if am_binary:
            self.alertmanager = services.start_alertmanager(
                am_binary, self.repo / ALERTMANAGER_CONFIG, workdir / "alertmanager")
        else:
            self.missing.append("Alertmanager")
        if prom_binary:
            rules = sorted((self.repo / RULES_DIR).glob("*.yaml"))
            config = services.prometheus_config(
                self.exporter.url, rules, self.alertmanager.url if self.alertmanager else None)
            self.prometheus = services.start_prometheus(prom_binary, config,
                                                        workdir / "prometheus")
        else:
            self.missing.append("Prometheus")
        if self.missing:
            self.say(f"note: {' and '.join(self.missing)} not installed; {INSTALL_HINT}")

    def stop(self) -> None:
        """Stop every started service (Prometheus first: it no longer needs the others)."""
        for service in (self.prometheus, self.alertmanager, self.exporter):
            if service is not None:
                service.stop()

    def __enter__(self) -> Demo:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- runs -----------------------------------------------------------------------------

    def run_scenarios(self) -> list[RunReport]:
        """Run the three scenarios at the same time, with live progress; Ctrl-C stops them.

        At once, not one after the other: each step is a process that spends most of its
        time importing pandas and scikit-learn, and the faulty run mostly waits out its retry
        backoff, so overlapping them roughly halves the demo on two cores.
        """
        from argoscope.local.manifest import load
        from argoscope.local.progress import TerminalProgress
        from argoscope.local.runner import LocalRun, RunOptions

        manifest_path = self.repo / WORKFLOW_FILE
        progress = TerminalProgress(self.out, self.state_hint)
        seen: set[str] = set()
        lock = threading.Lock()
        self.say("")
        for scenario in SCENARIOS:
            shown = " ".join(f"-p {k}={v!r}" for k, v in scenario.parameters.items())
            self.say(f"== {scenario.name} run: {scenario.shows}"
                     + (f"\n   parameters: {shown}" if shown else ""))
        validated = threading.Event()  # the healthy run's validation has finished
        order = {"healthy": {"done": validated}, "drifted": {"after": validated}}
        runs = [LocalRun(load(manifest_path),
                         RunOptions(state_dir=self.state_dir,
                                    parameters=dict(scenario.parameters)),
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
        self.reports = [RunReport(scenario, load_run(run.workflow_path, self.state_dir))
                        for run, scenario in zip(runs, SCENARIOS, strict=True)]
        return self.reports

    def write_reports(self) -> str | None:
        """Write each run's HTML report beside its logs; a note instead when the `reports`
        extra is missing or a page cannot be written (the demo's runs stand without them)."""
        from argoscope.reports.render import ReportsUnavailable
        from argoscope.reports.run import write_run_report

        try:
            for report in self.reports:
                report.page = write_run_report(self.state_dir, report.workflow)
        except ReportsUnavailable as error:
            return f"run reports not written: {error}"
        except (OSError, ValueError) as error:
            return f"run reports not written: {type(error).__name__}: {error}"
        return None

    def wait_for_metrics(self, timeout: float = 60.0) -> None:
        """Wait until the exporter counted this demo's runs, then until Prometheus scraped
        them and its rules fired the expected alerts (and Alertmanager received them)."""
        from prometheus_client.parser import text_string_to_metric_families

        assert self.exporter is not None
        exporter = self.exporter
        wanted = len(self.reports)
        names = {report.workflow for report in self.reports}

        def exporter_counted() -> bool:
            seen: set[str] = set()
            for family in text_string_to_metric_families(
                    services.http_get(exporter.url + "/metrics")):
                if family.name == "argoscope_workflow_run_info":
                    seen |= {s.labels.get("workflow", "") for s in family.samples
                             if s.labels.get("phase") in ("Succeeded", "Failed", "Error")}
            return names <= seen

        services.wait_until(exporter_counted, timeout, f"the exporter to see {wanted} runs")
        if self.prometheus is None:
            return
        prometheus = self.prometheus

        def scraped() -> bool:
            result = services.prometheus_query(
                prometheus.url, f'sum(argoscope_workflow_runs_total{{pipeline="{PIPELINE}"}})')
            return bool(result) and float(result[0]["value"][1]) >= wanted

        services.wait_until(scraped, timeout, "Prometheus to scrape the runs")

        def fired() -> bool:
            firing = {a["labels"]["alertname"] for a in services.prometheus_alerts(prometheus.url)
                      if a.get("state") == "firing"}
            return firing >= EXPECTED_ALERTS

        try:
            services.wait_until(fired, timeout, "the expected alerts to fire")
            if self.alertmanager is not None:
                alertmanager = self.alertmanager
                services.wait_until(lambda: {
                    a["labels"]["alertname"] for a in services.alertmanager_alerts(
                        alertmanager.url)} >= EXPECTED_ALERTS, timeout, "Alertmanager to receive the alerts")
        except TimeoutError as error:
            self.say(f"note: {error}")

    # --- summary --------------------------------------------------------------------------

    def firing_alerts(self) -> list[dict[str, Any]]:
        """Alerts Prometheus holds as firing, this pipeline's and the exporter's."""
        if self.prometheus is None:
            return []
        return [a for a in services.prometheus_alerts(self.prometheus.url)
                if a.get("state") == "firing"]

    def run_lines(self) -> Iterator[str]:
        """Each run: phase, duration, retries, steps, the checks that did not pass with their
        value against the threshold, and why a failed run failed."""
        for report in self.reports:
            run = report.run
            retries = sum(step.retries for step in run.all_steps())
            yield (f"{report.scenario.name:8} {run.name}  {run.phase}"
                   f"  ({format_duration(run.duration)}"
                   f"{f', {retries} retries' if retries else ''})")
            yield "         steps: " + ", ".join(
                f"{step.name} {_short(step.phase)}" for step in run.steps)
            checks = [(step.name, check) for step in run.all_steps() for check in step.checks]
            bad = [(step, check) for step, check in checks if check.status != "passed"]
            if not checks:
                yield "         checks: none reported (no step got as far as its checks)"
            else:
                yield f"         checks: {len(checks) - len(bad)} of {len(checks)} passed"
                for step, check in bad:
                    yield f"           {check.status}: {step}/{check.check}: {check.describe()}"
            for line in failure_lines(run, self.state_hint):
                if not line.startswith("more:"):
                    yield f"         {line}"
            if report.page is not None:
                yield f"         report: {report.page}"

    def summary_lines(self) -> Iterator[str]:
        """The summary a person reads: runs, steps, checks, reasons, alerts, and what next."""
        yield ""
        yield "== summary"
        yield from self.run_lines()
        if self.prometheus is not None:
            yield ""
            yield "alerts firing in Prometheus:"
            alerts = self.firing_alerts()
            for alert in sorted(alerts, key=lambda a: str(a["labels"]["alertname"])):
                labels = alert["labels"]
                where = ", ".join(f"{k}={labels[k]}" for k in ("workflow", "step", "check")
                                  if k in labels)
                yield f"  {labels['alertname']} [{labels.get('severity', '')}] {where}".rstrip()
            if not alerts:
                yield "  (none)"
        yield ""
        yield f"runs (Argo-shaped): {self.state_dir / 'workflows'}"
        registry = self.state_dir / "volumes" / "argoscope-model-registry"
        from argoscope.pipeline.registry import Registry, RegistryError
        from argoscope.pipeline.storage import StepInputError

        try:
            current = Registry(registry).current
        except (RegistryError, StepInputError, OSError):
            current = None
        yield f"model registry:    {registry} (current version: {current or 'none'})"
        failed = next((r.run for r in self.reports if r.run.failures()), None)
        if failed is not None:
            step = failed.failures()[0].step
            yield (f"next: argoscope get {failed.name}{self.state_hint}   (then: argoscope "
                   f"logs {failed.name} {step}{self.state_hint})")
        else:
            yield f"next: argoscope list{self.state_hint}"

    def service_lines(self, serving: bool) -> Iterator[str]:
        """Where to look while the services run, each URL probed first; or, once they
        stopped, a line that says so and how to keep them."""
        if not serving:
            yield ("services stopped: the exporter, Prometheus and Alertmanager ran only during "
                   "the demo; `argoscope demo --serve` keeps them up to browse (Ctrl-C stops)")
            if self.missing:
                yield f"{' and '.join(self.missing)} not installed: {INSTALL_HINT}"
            return
        assert self.exporter is not None
        links = [("exporter metrics", services.first_page(self.exporter.url, ("/metrics",)))]
        if self.prometheus is not None:
            alerts = services.first_page(self.prometheus.url, services.PROMETHEUS_ALERTS_PAGES)
            graph = services.first_page(self.prometheus.url, services.PROMETHEUS_GRAPH_PAGES)
            links += [("Prometheus alerts", alerts), ("Prometheus graph", graph)]
        if self.alertmanager is not None:
            ui = services.alertmanager_ui(self.alertmanager.url)
            links.append(("Alertmanager", ui))
            if ui is None:
                links.append(("Alertmanager API", services.first_page(
                    self.alertmanager.url, ("/api/v2/alerts",))))
                amtool = services.find_binary(("amtool",))
                if amtool:
                    yield ("Alertmanager has no web UI in this build; its alerts: "
                           f"amtool alert query --alertmanager.url={self.alertmanager.url}")
        for label, url in links:
            if url is not None:
                yield f"{label + ':':19}{url}"
        if self.missing:
            yield f"{' and '.join(self.missing)} not installed: {INSTALL_HINT}"


def _short(phase: str) -> str:
    return {"Succeeded": "ok", "Skipped": "skipped", "Omitted": "omitted"}.get(phase, phase)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def register(subparsers: Any) -> None:
    """Add the `demo` subcommand."""
    parser = subparsers.add_parser(
        "demo", help="run the reference pipeline three times with the whole stack locally",
        description="Run the reference pipeline healthy, drifted and faulty with the local "
                    "runner, the exporter following the runs, and Prometheus and Alertmanager "
                    "(when installed) evaluating the shipped rules; print a summary. Each demo "
                    "starts from a clean state directory unless --keep-state.")
    parser.add_argument("--serve", action="store_true",
                        help="keep the exporter, Prometheus and Alertmanager running until "
                             "Ctrl-C, and print their (checked) URLs")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR,
                        help=f"where runs, the model registry and service data go "
                             f"(default {DEFAULT_STATE_DIR}); cleared first unless "
                             "--keep-state")
    parser.add_argument("--keep-state", action="store_true",
                        help="keep the runs and model registry of earlier demos in the state "
                             "directory (the summary still shows only this demo's runs)")
    parser.set_defaults(handler=main)


def check_dependencies() -> None:
    """ModuleNotFoundError naming the first module of the `demo` extra that is missing."""
    for module in REQUIRED_MODULES:
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)


def main(args: argparse.Namespace) -> int:
    """Run the demo; 0 when every run ended as its scenario intends."""
    import signal

    check_dependencies()
    try:
        prepare_state_dir(args.state_dir, args.keep_state)
    except StateDirError as error:
        print(f"argoscope demo: {error}", file=sys.stderr)
        return 2
    # A SIGTERM stops the demo like Ctrl-C does, so the services it started stop with it.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        with Demo(args.state_dir) as demo:
            demo.run_scenarios()
            report_note = demo.write_reports()
            if report_note is not None:
                demo.say(report_note)
            demo.wait_for_metrics()
            for line in demo.summary_lines():
                demo.say(line)
            if args.serve:
                for line in demo.service_lines(serving=True):
                    demo.say(line)
                demo.say(f"\ndemo finished in {time.monotonic() - started:.0f}s")
                demo.say("serving; press Ctrl-C to stop")
                try:
                    while True:
                        time.sleep(3600)
                except KeyboardInterrupt:
                    demo.say("stopping")
        if not args.serve:
            for line in demo.service_lines(serving=False):
                demo.say(line)
            demo.say(f"\ndemo finished in {time.monotonic() - started:.0f}s")
    except (FileNotFoundError, services.ServiceError, TimeoutError) as error:
        print(f"argoscope demo: {error}", file=sys.stderr)
        return 1
    expected = {"healthy": "Succeeded", "drifted": "Succeeded", "faulty": "Failed"}
    return 0 if all(expected[r.scenario.name] == r.phase for r in demo.reports) else 1
