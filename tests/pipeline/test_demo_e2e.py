"""The demo end to end: three runs of the shipped manifests through the local runner, the
real exporter following them, real Prometheus evaluating the shipped rules and real
Alertmanager receiving the alerts; the metrics and alerts must follow from the runs."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from argoscope import demo_services
from argoscope.demo import EXPECTED_ALERTS, PIPELINE, Demo
from argoscope.pipeline.registry import Registry
from tests.support.servers import require_binary


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Demo, str]]:
    require_binary("prometheus")
    require_binary("prometheus-alertmanager")
    out = io.StringIO()
    with Demo(tmp_path_factory.mktemp("demo"), out=out) as running:
        running.run_scenarios()
        running.wait_for_metrics()
        summary = "\n".join(running.summary_lines())
        yield running, summary
    for service in (running.exporter, running.prometheus, running.alertmanager):
        assert service is not None and service.process.poll() is not None  # stopped


def value(demo: Demo, promql: str) -> float:
    assert demo.prometheus is not None
    result = demo_services.prometheus_query(demo.prometheus.url, promql)
    return sum(float(sample["value"][1]) for sample in result)


def test_runs_end_as_their_scenarios_intend(demo: tuple[Demo, str]) -> None:
    running, _ = demo
    phases = {r.scenario.name: r.phase for r in running.reports}
    assert phases == {"healthy": "Succeeded", "drifted": "Succeeded", "faulty": "Failed"}
    healthy, drifted, faulty = running.reports
    assert healthy.steps["model-deployment"] == "Succeeded"
    assert drifted.steps["model-deployment"] == "Skipped"
    assert faulty.retries["data-ingestion"] == 2
    assert set(faulty.steps.values()) == {"Failed", "Omitted"}
    # Only the healthy run reached the registry.
    registry = Registry(running.state_dir / "volumes" / "argoscope-model-registry")
    assert registry.versions() == ["v0001"]
    assert registry.metadata("v0001")["workflow"] in ("", healthy.workflow)


def test_metrics_follow_from_the_runs(demo: tuple[Demo, str]) -> None:
    running, _ = demo
    selector = f'pipeline="{PIPELINE}"'
    assert value(running, f'argoscope_workflow_runs_total{{{selector},phase="Succeeded"}}') == 2
    assert value(running, f'argoscope_workflow_runs_total{{{selector},phase="Failed"}}') == 1
    deployment = f'{selector},step="model-deployment"'
    assert value(running, f'argoscope_step_runs_total{{{deployment},phase="Succeeded"}}') == 1
    assert value(running, f'argoscope_step_runs_total{{{deployment},phase="Skipped"}}') == 1
    assert value(running, f'argoscope_step_retries_total{{{selector},step="data-ingestion"}}') == 2
    assert value(running, f'argoscope_step_runs_total{{{selector},step="data-ingestion",'
                          f'phase="Failed"}}') == 3
    # Latest results: the drifted run's validation failed both its drift check and its gate.
    validation = f'{selector},step="model-validation"'
    assert value(running, f'argoscope_check_status{{{validation},check="input_drift"}}') == 0
    assert value(running, f'argoscope_check_status{{{validation},check="accuracy"}}') == 0
    assert value(running, f'argoscope_check_value{{{validation},check="accuracy"}}') < 0.85
    assert value(running, f'argoscope_check_results_total{{{validation},check="accuracy",'
                          f'status="passed"}}') == 1
    assert value(running, f'argoscope_check_results_total{{{validation},check="accuracy",'
                          f'status="failed"}}') == 1
    # Per-feature scores are KS p-values here (reference under 1,000 rows): drifted < 0.05.
    shifted = value(running, f'count(argoscope_feature_drift_score{{{validation},'
                             f'check="input_drift",feature=~"mean .*"}} < 0.05)')
    others = value(running, f'count(argoscope_feature_drift_score{{{validation},'
                            f'check="input_drift",feature!~"mean .*"}} < 0.05)')
    assert (shifted, others <= 2) == (10, True)


def test_alerts_fire_and_reach_alertmanager(demo: tuple[Demo, str]) -> None:
    running, summary = demo
    firing = {a["labels"]["alertname"]: a["labels"] for a in running.firing_alerts()}
    assert set(firing) >= EXPECTED_ALERTS
    assert firing["PipelineRunFailed"]["workflow"] == running.reports[2].workflow
    assert firing["PipelineDriftDetected"]["check"] == "input_drift"
    assert firing["PipelineModelGateFailed"]["check"] == "accuracy"
    assert not {"PipelineDataQualityCheckFailed", "ArgoscopeExporterDown"} & set(firing)
    assert running.alertmanager is not None
    received = {a["labels"]["alertname"]
                for a in demo_services.alertmanager_alerts(running.alertmanager.url)}
    assert received >= EXPECTED_ALERTS
    for name in EXPECTED_ALERTS:
        assert name in summary
    assert running.prometheus is not None and running.prometheus.url in summary


def test_summary_reads_the_runs(demo: tuple[Demo, str]) -> None:
    running, summary = demo
    for report in running.reports:
        assert report.workflow in summary
    assert "model-deployment skipped" in summary
    assert "failed: model-validation/accuracy, model-validation/input_drift" in summary
    assert "2 retries" in summary
    assert "current version: v0001" in summary


def test_services_start_without_prometheus_and_say_how_to_add_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_services, "find_binary", lambda names: None)
    out = io.StringIO()
    with Demo(tmp_path, out=out) as running:
        assert running.prometheus is None and running.alertmanager is None
        assert running.exporter is not None
        assert demo_services.http_ok(running.exporter.url + "/metrics")
    assert "Alertmanager and Prometheus not installed" in out.getvalue()
    assert "make tools" in out.getvalue()


def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    """`argoscope demo --serve`: the summary, then services up until Ctrl-C, then all gone."""
    import re
    import signal
    import subprocess
    import sys

    require_binary("prometheus")
    process = subprocess.Popen(
        [sys.executable, "-m", "argoscope.cli", "demo", "--serve", "--state-dir",
         str(tmp_path / "state")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, cwd=Path(__file__).resolve().parents[2])
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("serving"):
                break
        output = "".join(lines)
        assert "serving" in output, output
        urls = set(re.findall(r"(http://127\.0\.0\.1:\d+)/(?:metrics|alerts)", output))
        assert len(urls) == 2 and all(demo_services.http_ok(url + "/-/healthy")
                                      or demo_services.http_ok(url + "/metrics")
                                      for url in urls)
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
    assert not any(demo_services.http_ok(url + "/metrics") for url in urls)
