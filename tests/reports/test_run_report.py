"""The run report of the demo's three runs, `argoscope report`, and reports from a dump."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from argoscope.cli import main
from argoscope.reports import render
from argoscope.reports.run import build_steps, write_run_report
from tests.reports.conftest import Runs
from tests.reports.pages import assert_self_contained


def page(runs: Runs, scenario: str, tmp_path: Path) -> str:
    path = write_run_report(runs.state_dir, runs.names[scenario], tmp_path / f"{scenario}.html")
    html = path.read_text()
    assert_self_contained(html)
    return html


def test_drifted_run_shows_features_gate_and_skipped_deployment(
        pipeline_runs: Runs, tmp_path: Path) -> None:
    html = page(pipeline_runs, "drifted", tmp_path)
    workflow = pipeline_runs.workflow("drifted")
    validation = next(n for n in workflow["status"]["nodes"].values()
                      if n["displayName"] == "model-validation")
    accuracy = float(next(p["value"] for p in validation["outputs"]["parameters"]
                          if p["name"] == "accuracy"))
    assert accuracy <= 0.85
    assert f"model-deployment skipped because accuracy {accuracy:.2f} ≤ 0.85" in html
    # The validation step's own report is embedded: distributions of the shifted features.
    document = json.loads(next(p["value"] for p in validation["outputs"]["parameters"]
                               if p["name"] == "argoscope-checks"))
    drift = next(r for r in document["results"] if r["check"] == "input_drift")
    drifted = [f["feature"] for f in drift["features"] if f["drifted"]]
    assert drifted and all(name.startswith("mean ") for name in drifted[:5])
    captions = re.findall(r"<figcaption><strong>([^<]+)</strong>", html)
    # Most drifted first: p-values rise (lower means drift) down the drifted features.
    by_name = {f["feature"]: f for f in drift["features"]}
    assert sorted(captions[:len(drifted)]) == sorted(drifted)
    strengths = [by_name[name]["score"] / by_name[name]["threshold"]
                 for name in captions[:len(drifted)]]
    assert strengths == sorted(strengths)
    assert re.search(r"accuracy\s*&gt;\s*0\.85", html)


def test_healthy_run_deploys_and_embeds_every_step_report(
        pipeline_runs: Runs, tmp_path: Path) -> None:
    html = page(pipeline_runs, "healthy", tmp_path)
    assert re.search(r"model-deployment ran because accuracy 0\.\d\d &gt; 0\.85", html)
    steps = build_steps(pipeline_runs.workflow("healthy"), pipeline_runs.state_dir)
    assert [s.phase for s in steps] == ["Succeeded"] * 6
    # The runner kept each step's report beside its logs; the run report embeds them.
    assert all(s.report_path is not None and s.report_path.name == "report.html"
               and (s.report_path.parent / "stderr.log").is_file() for s in steps)
    for step in steps:
        assert f"<summary>{step.name} " in html
    # Charts only come from the embedded step reports (the run report draws none itself).
    assert "<figcaption>" in html and html.count("<!--argoscope") == 0


def test_faulty_run_shows_each_retry_and_the_reason(pipeline_runs: Runs, tmp_path: Path) -> None:
    html = page(pipeline_runs, "faulty", tmp_path)
    steps = {s.name: s for s in build_steps(pipeline_runs.workflow("faulty"),
                                            pipeline_runs.state_dir)}
    ingestion = steps["data-ingestion"]
    assert [a.phase for a in ingestion.attempts] == ["Failed"] * 3
    for attempt in range(3):  # each attempt is its own bar on the timeline
        assert re.search(rf'class="bar Failed"[^>]*title="data-ingestion\({attempt}\): Failed', html)
    assert "No more retries left" in html
    assert "injected permanent crash on attempt 2" in html  # the log tail of the failure
    assert "model-deployment was not evaluated: omitted" in html
    assert {s.phase for n, s in steps.items() if n != "data-ingestion"} == {"Omitted"}


def test_reports_stay_small(pipeline_runs: Runs, tmp_path: Path) -> None:
    for scenario in pipeline_runs.names:
        assert len(page(pipeline_runs, scenario, tmp_path).encode()) < 5 * 1024 * 1024


def test_cli_writes_beside_the_runs_logs_and_prints_the_path(
        pipeline_runs: Runs, capsys: pytest.CaptureFixture[str]) -> None:
    run = pipeline_runs.names["faulty"]
    assert main(["report", run, "--state-dir", str(pipeline_runs.state_dir)]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written == pipeline_runs.state_dir / "runs" / run / "report.html"
    assert f"Run {run}" in written.read_text()


def test_cli_refuses_unknown_runs_and_missing_sources(
        pipeline_runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "no-such-run", "--state-dir", str(pipeline_runs.state_dir)]) == 2
    error = capsys.readouterr().err
    assert "no-such-run" in error and pipeline_runs.names["healthy"] in error
    assert main(["report", "x", "--dump", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err


def test_cli_names_the_extra_when_rendering_libraries_are_missing(
        pipeline_runs: Runs, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(__import__("sys").modules, "jinja2", None)
    render.environment.cache_clear()
    try:
        code = main(["report", pipeline_runs.names["healthy"], "--state-dir",
                     str(pipeline_runs.state_dir)])
    finally:
        render.environment.cache_clear()
    assert code == 2
    assert "pip install 'argoscope[reports]'" in capsys.readouterr().err


def test_report_from_a_real_argo_workflow_dump(argo_fixtures: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    dump = argo_fixtures / "awf-dag-exhausted-retries-xfail.yaml"
    out = tmp_path / "retry.html"
    assert main(["report", "retry-with-dags", "--dump", str(dump), "-o", str(out)]) == 0
    html = out.read_text()
    assert_self_contained(html)
    # Argo's own retries: fail(0) and fail(1) are separate bars; the Retry node's reason.
    assert re.search(r'class="bar Failed"[^>]*title="fail\(0\)', html)
    assert re.search(r'class="bar Failed"[^>]*title="fail\(1\)', html)
    assert "No more retries left" in html and "failed with exit code 1" in html


def test_gpu_requests_and_gpu_time_where_argo_recorded_it(pipeline_runs: Runs) -> None:
    from argoscope.reports.run import render_run_report

    workflow = pipeline_runs.workflow("healthy")
    training = next(n for n in workflow["status"]["nodes"].values()
                    if n["type"] == "Pod" and n["displayName"].startswith("model-training"))
    assert "nvidia.com/gpu" not in training.get("resourcesDuration", {})  # none used locally
    steps = {s.name: s for s in build_steps(workflow)}
    assert steps["model-training"].gpu_requested == "1"
    assert steps["model-training"].gpu_seconds is None
    assert steps["preprocessing"].gpu_requested is None
    # As a cluster records it: GPU-seconds in the Pod node's resourcesDuration.
    training["resourcesDuration"] = {**training.get("resourcesDuration", {}), "nvidia.com/gpu": 95}
    assert {s.name: s for s in build_steps(workflow)}["model-training"].gpu_seconds == 95
    html = render_run_report(workflow)
    assert re.search(r"<td>model-training</td><td class=\"n\">1</td>\s*<td class=\"n\">1 min 35 s",
                     html)
