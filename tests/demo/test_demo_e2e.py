"""The demo end to end, through its public surface: `argoscope demo --serve` runs the shipped
manifests three times through the local runner, with the real exporter following them, real
Prometheus evaluating the shipped rules and real Alertmanager receiving the alerts. Every URL
it prints must answer; the summary must say why things failed; the metrics and alerts must
follow from the runs; and a state directory left by an earlier demo must not leak in."""

from __future__ import annotations

import io
import json
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from argoscope import harness
from argoscope.demo import EXPECTED_ALERTS, PIPELINE, STATE_MARKER, Demo, StateDirError, prepare_state_dir
from argoscope.local.runs import Run, list_runs
from argoscope.pipeline.registry import Registry
from tests.support.servers import require_binary

REPO = Path(__file__).resolve().parents[2]
OLD_RUN = "ml-reference-pipeline-older"
URL = re.compile(r"http://127\.0\.0\.1:\d+\S*")


@dataclass
class Served:
    """A demo serving: what it printed, its state directory and the runs it recorded."""

    output: str
    state_dir: Path
    runs: dict[str, Run]  # by scenario name, in the demo's order

    def url_of(self, label: str) -> str:
        """The URL printed on the line starting with `label`."""
        line = next(line for line in self.output.splitlines() if line.startswith(label))
        match = URL.search(line)
        assert match, line
        return match.group(0)

    @property
    def prometheus(self) -> str:
        """Prometheus' base URL, from the printed alerts page."""
        parts = urllib.parse.urlsplit(self.url_of("Prometheus alerts:"))
        return f"{parts.scheme}://{parts.netloc}"


def _leave_an_earlier_demo(state: Path) -> None:
    """What a previous demo leaves: a failed run and a registry with a version in it."""
    prepare_state_dir(state, keep=False)  # a demo made it (its marker names this directory)
    (state / "workflows").mkdir()
    (state / "workflows" / f"{OLD_RUN}.json").write_text(json.dumps({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": OLD_RUN, "namespace": "argo-local"},
        "spec": {"workflowTemplateRef": {"name": PIPELINE}},
        "status": {"phase": "Failed", "startedAt": "2026-01-01T00:00:00Z",
                   "finishedAt": "2026-01-01T00:00:05Z", "nodes": {}}}))
    registry = state / "volumes" / "argoscope-model-registry"
    (registry / "versions" / "v0001").mkdir(parents=True)
    (registry / "registry.json").write_text('{"current": "v0001", "history": ["v0001"]}')


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """Lines of the process' output up to the one starting with `marker`."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("the demo printed nothing for a while:\n" + "".join(seen)) \
                from None
        if line is None:
            raise AssertionError("the demo ended before serving:\n" + "".join(seen))
        seen.append(line)
        if line.startswith(marker):
            return "".join(seen)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    require_binary("prometheus")
    require_binary("prometheus-alertmanager")
    state = tmp_path_factory.mktemp("demo") / "state"
    _leave_an_earlier_demo(state)
    process = subprocess.Popen(
        [sys.executable, "-m", "argoscope.cli", "demo", "--serve", "--state-dir", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    try:
        output = _read_until(process, "serving", timeout=120)
        # Which run was which scenario, as the summary says (they run at the same time).
        named = dict(re.findall(r"^(healthy|drifted|faulty) +(ml-reference-pipeline-\w+) ",
                                output, re.M))
        by_name = {run.name: run for run in list_runs(state)}
        runs = {scenario: by_name[name] for scenario, name in named.items()}
        assert list(runs) == ["healthy", "drifted", "faulty"], output
        yield Served(output, state, runs)
        urls = URL.findall(output)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.terminate()  # the demo stops its services on SIGTERM too
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert not any(harness.http_ok(url) for url in urls)  # all stopped with the demo


def value(served: Served, promql: str) -> float:
    result = harness.prometheus_query(served.prometheus, promql)
    return sum(float(sample["value"][1]) for sample in result)


def test_every_printed_url_answers_with_a_real_page(served: Served) -> None:
    printed = [(line, url) for line in served.output.splitlines() for url in URL.findall(line)]
    labels = {line.split(":")[0] for line, _ in printed}
    assert {"exporter metrics", "Prometheus alerts", "Prometheus graph"} <= labels, labels
    for line, url in printed:
        if "amtool" in line:
            continue  # a command, run below
        # Raises on anything but 2xx; a redirect would mean the printed URL is not the page.
        with urllib.request.urlopen(url.split("#")[0], timeout=10) as response:
            assert response.geturl() == url.split("#")[0]
            body = " ".join(response.read().decode("utf-8").split())
        if url.endswith("/metrics"):
            assert "argoscope_workflow_runs_total" in body
        elif "/api/v2/alerts" in url:
            assert {a["labels"]["alertname"] for a in json.loads(body)} >= EXPECTED_ALERTS
        else:  # a web UI page: a real one, not a 'no web application' placeholder
            assert "<html" in body.lower() and "does not include a web application" not in body
            assert "Prometheus" in body or "Alertmanager" in body
    # Debian's Alertmanager has no UI: then its API and the amtool command are shown instead.
    assert any(line.startswith("Alertmanager") for line, _ in printed), served.output
    command = next((line.split("alerts: ", 1)[1] for line, _ in printed
                    if "amtool alert query" in line), None)
    if command is not None:
        done = subprocess.run(command.split(), capture_output=True, text=True, timeout=30,
                              check=True)
        assert "PipelineRunFailed" in done.stdout


def test_runs_end_as_their_scenarios_intend_in_a_clean_state(served: Served) -> None:
    assert sorted(run.name for run in list_runs(served.state_dir)) == sorted(
        run.name for run in served.runs.values())  # the earlier demo's run is gone
    assert OLD_RUN not in served.output
    phases = {name: run.phase for name, run in served.runs.items()}
    assert phases == {"healthy": "Succeeded", "drifted": "Succeeded", "faulty": "Failed"}
    steps = {name: {s.name: s for s in run.steps} for name, run in served.runs.items()}
    assert steps["healthy"]["model-deployment"].phase == "Succeeded"
    assert steps["drifted"]["model-deployment"].phase == "Skipped"
    assert steps["faulty"]["data-ingestion"].retries == 2
    assert {s.phase for s in steps["faulty"].values()} == {"Failed", "Omitted"}
    # Only this demo's healthy run reached the registry: it is v0001, not v0002.
    registry = Registry(served.state_dir / "volumes" / "argoscope-model-registry")
    assert registry.versions() == ["v0001"]
    assert registry.metadata("v0001")["workflow"] in ("", served.runs["healthy"].name)
    assert "current version: v0001" in served.output


def test_summary_says_why_each_run_failed_and_where_to_look(served: Served) -> None:
    summary = served.output.split("== summary", 1)[1]
    for run in served.runs.values():
        assert run.name in summary
    assert "model-deployment skipped" in summary
    accuracy = re.search(r"failed: model-validation/accuracy: (0\.\d\d) < 0\.85", summary)
    assert accuracy and float(accuracy.group(1)) < 0.85, summary
    drift = re.search(r"failed: model-validation/input_drift: (\d+) of (\d+) features drifted"
                      r".*: (.+)", summary)
    assert drift, summary
    assert (drift.group(1), drift.group(2)) == ("10", "30")
    names = drift.group(3).split(", ")  # the ten shifted `mean *` features, by name
    assert len(names) == 10 and all(name.startswith("mean ") for name in names), names
    faulty = served.runs["faulty"]
    assert "2 retries" in summary
    assert re.search(r"failed step: data-ingestion \(Failed after 3 attempts\): "
                     r"data-ingestion: injected permanent crash", summary), summary
    log = next(line for line in summary.splitlines() if line.strip().startswith("log: "))
    assert "injected permanent crash" in Path(log.split("log: ", 1)[1]).read_text()
    next_line = next(line for line in summary.splitlines() if line.startswith("next: "))
    assert f"argoscope get {faulty.name} --state-dir {served.state_dir}" in next_line


def test_metrics_follow_from_the_runs(served: Served) -> None:
    selector = f'pipeline="{PIPELINE}"'
    assert value(served, f'argoscope_workflow_runs_total{{{selector},phase="Succeeded"}}') == 2
    assert value(served, f'argoscope_workflow_runs_total{{{selector},phase="Failed"}}') == 1
    deployment = f'{selector},step="model-deployment"'
    assert value(served, f'argoscope_step_runs_total{{{deployment},phase="Succeeded"}}') == 1
    assert value(served, f'argoscope_step_runs_total{{{deployment},phase="Skipped"}}') == 1
    assert value(served, f'argoscope_step_retries_total{{{selector},step="data-ingestion"}}') == 2
    assert value(served, f'argoscope_step_runs_total{{{selector},step="data-ingestion",'
                         f'phase="Failed"}}') == 3
    # Latest results: the drifted run's validation failed both its drift check and its gate.
    validation = f'{selector},step="model-validation"'
    assert value(served, f'argoscope_check_status{{{validation},check="input_drift"}}') == 0
    assert value(served, f'argoscope_check_status{{{validation},check="accuracy"}}') == 0
    assert value(served, f'argoscope_check_value{{{validation},check="accuracy"}}') < 0.85
    assert value(served, f'argoscope_check_results_total{{{validation},check="accuracy",'
                         f'status="passed"}}') == 1
    assert value(served, f'argoscope_check_results_total{{{validation},check="accuracy",'
                         f'status="failed"}}') == 1
    # Per-feature scores are KS p-values here (reference under 1,000 rows): drifted < 0.05.
    shifted = value(served, f'count(argoscope_feature_drift_score{{{validation},'
                            f'check="input_drift",feature=~"mean .*"}} < 0.05)')
    others = value(served, f'count(argoscope_feature_drift_score{{{validation},'
                           f'check="input_drift",feature!~"mean .*"}} < 0.05)')
    assert (shifted, others <= 2) == (10, True)


def test_alerts_fire_for_this_demo_only(served: Served) -> None:
    alerts = harness.prometheus_alerts(served.prometheus)
    firing = {a["labels"]["alertname"]: a["labels"] for a in alerts if a["state"] == "firing"}
    assert set(firing) >= EXPECTED_ALERTS
    failed = [a["labels"]["workflow"] for a in alerts
              if a["labels"]["alertname"] == "PipelineRunFailed"]
    assert failed == [served.runs["faulty"].name]  # not the earlier demo's failed run
    assert firing["PipelineDriftDetected"]["check"] == "input_drift"
    assert firing["PipelineModelGateFailed"]["check"] == "accuracy"
    assert not {"PipelineDataQualityCheckFailed", "ArgoscopeExporterDown"} & set(firing)
    for name in EXPECTED_ALERTS:
        assert name in served.output


def test_without_serve_it_says_the_services_stopped_and_prints_no_url(tmp_path: Path) -> None:
    out = io.StringIO()
    with Demo(tmp_path, out=out, use_prometheus=False) as running:
        serving = list(running.service_lines(serving=True))
        assert any(line.startswith("exporter metrics:") for line in serving)
    stopped = "\n".join(running.service_lines(serving=False))
    assert "services stopped" in stopped and "--serve" in stopped
    assert not URL.search(stopped)


def test_services_start_without_prometheus_and_say_how_to_add_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "find_binary", lambda names: None)
    out = io.StringIO()
    with Demo(tmp_path, out=out) as running:
        assert running.prometheus is None and running.alertmanager is None
        assert running.exporter is not None
        assert harness.http_ok(running.exporter.url + "/metrics")
    assert "Alertmanager and Prometheus not installed" in out.getvalue()
    assert "make tools" in out.getvalue()


def test_state_dir_is_cleared_only_when_the_demo_made_it(tmp_path: Path) -> None:
    earlier = tmp_path / "earlier"
    _leave_an_earlier_demo(earlier)
    prepare_state_dir(earlier, keep=True)
    assert (earlier / "workflows" / f"{OLD_RUN}.json").exists()
    prepare_state_dir(earlier, keep=False)
    assert sorted(p.name for p in earlier.iterdir()) == [STATE_MARKER]
    precious = tmp_path / "home"
    (precious / "notes").mkdir(parents=True)
    with pytest.raises(StateDirError, match="not made by the demo"):
        prepare_state_dir(precious, keep=False)
    assert (precious / "notes").is_dir()


def test_demo_cli_refuses_a_foreign_state_dir(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    done = subprocess.run([sys.executable, "-m", "argoscope.cli", "demo", "--state-dir",
                           str(tmp_path)], capture_output=True, text=True, cwd=REPO,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert "not made by the demo" in done.stderr and (tmp_path / "mine.txt").exists()


def test_summary_names_each_runs_report_and_get_names_it_too(served: Served) -> None:
    """Each run's HTML report is written beside its logs, named in the summary and by `get`."""
    from tests.reports.pages import assert_self_contained

    summary = served.output.split("== summary", 1)[1]
    pages = {}
    for scenario, run in served.runs.items():
        block = summary.split(run.name, 1)[1]
        line = next(line for line in block.splitlines() if line.strip().startswith("report: "))
        page = Path(line.split("report: ", 1)[1])
        assert page == run.log_dir / "report.html" and page.is_file(), line
        html = page.read_text(encoding="utf-8")
        assert_self_contained(html)
        assert run.name in html
        pages[scenario] = html
    # The drifted run's page shows the drifted features by name and why deployment was skipped.
    assert "mean radius" in pages["drifted"] and "skipped because accuracy" in pages["drifted"]
    assert "injected permanent crash" in pages["faulty"]
    faulty = served.runs["faulty"]
    got = subprocess.run(
        [sys.executable, "-m", "argoscope.cli", "get", faulty.name, "--state-dir", str(served.state_dir)],
        capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert re.search(rf"^Report:\s+{re.escape(str(faulty.log_dir / 'report.html'))}$", got, re.M), got
