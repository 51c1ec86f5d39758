"""The step API: the README example end to end, severities, emission that never fails a step."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from argoscope.checks import CheckFailed, Checks
from argoscope.checks.identity import RunIdentity

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
ARGO_ENV = {"ARGO_NODE_ID": "train-x7k2p-1234567", "ARGO_WORKFLOW_NAME": "train-x7k2p",
            "ARGO_TEMPLATE": json.dumps({"name": "validate-data"}), "ARGO_POD_NAME": "pod-1"}


def _example() -> str:
    text = README.read_text()
    section = text.split("## Checks inside pipeline steps", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return blocks[0]


def _run_step(code: str, tmp_path: Path, extra: dict[str, str] | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ARGO"))}
    env.update(ARGO_ENV)
    env["ARGOSCOPE_CHECKS_PATH"] = str(tmp_path / "out" / "checks.json")
    env["PYTHONPATH"] = str(ROOT / "src")
    env.update(extra or {})
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)


def test_readme_example_produces_document_gate_file_and_log_lines(tmp_path: Path) -> None:
    proc = _run_step(_example(), tmp_path)
    assert proc.returncode == 0, proc.stderr
    document = json.loads((tmp_path / "out" / "checks.json").read_text())
    assert document["schema"] == "argoscope.checks/v1"
    by_name = {r["check"]: r for r in document["results"]}
    assert {r["kind"] for r in document["results"]} == {"expectation", "drift", "gate"}
    assert by_name["accuracy"] == {"check": "accuracy", "kind": "gate", "status": "passed",
                                   "value": 0.91, "threshold": 0.85, "severity": "critical",
                                   "message": by_name["accuracy"]["message"], "op": ">"}
    assert by_name["input_drift"]["features"][0]["method"] == "wasserstein"
    assert float((tmp_path / "out" / "accuracy").read_text()) == 0.91
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert {line["check"] for line in lines} == set(by_name)
    assert all(line["workflow"] == "train-x7k2p" and line["node_id"] == ARGO_ENV["ARGO_NODE_ID"]
               and line["step"] == "validate" for line in lines)


def test_failed_critical_check_fails_the_step_and_warning_only_reports(tmp_path: Path) -> None:
    failing = _example().replace('checks.gate("accuracy", accuracy, ">", 0.85)',
                                 'checks.gate("accuracy", 0.5, ">", 0.85)')
    proc = _run_step(failing, tmp_path)
    assert proc.returncode != 0 and "CheckFailed" in proc.stderr
    document = json.loads((tmp_path / "out" / "checks.json").read_text())
    assert {r["check"]: r["status"] for r in document["results"]}["accuracy"] == "failed"

    warned = _example().replace('checks.gate("accuracy", accuracy, ">", 0.85)',
                                'checks.gate("accuracy", 0.5, ">", 0.85, severity="warning")')
    proc = _run_step(warned, tmp_path)
    assert proc.returncode == 0, proc.stderr
    document = json.loads((tmp_path / "out" / "checks.json").read_text())
    assert {r["check"]: r["status"] for r in document["results"]}["accuracy"] == "warning"


def test_emit_raises_for_critical_failures_only(tmp_path: Path) -> None:
    checks = Checks(step="s", path=tmp_path / "c.json", env={})
    checks.gate("loss", 0.3, "<", 0.2, severity="warning")
    assert checks.emit() and not checks.failures
    checks = Checks(step="s", path=tmp_path / "c.json", env={})
    checks.expect(pd.DataFrame({"x": [1, None]}), [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}}])
    with pytest.raises(CheckFailed, match="not_be_null"):
        checks.emit()


def test_a_check_that_cannot_run_is_an_error_result(tmp_path: Path) -> None:
    checks = Checks(step="s", path=tmp_path / "c.json", env={})
    checks.expect(pd.DataFrame({"x": [1]}), [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "missing"}}])
    drift = checks.drift(pd.DataFrame({"x": [1.0]}), pd.DataFrame({"y": [1.0]}))
    gate = checks.gate("accuracy", float("nan"), ">", 0.8)
    assert [r.status for r in checks.results] == ["error", "error", "error"]
    assert "'missing'" in checks.results[0].message and "'x'" in drift.message
    assert gate.value is None
    with pytest.raises(CheckFailed):
        checks.emit()
    assert json.loads((tmp_path / "c.json").read_text())["results"][2]["status"] == "error"


def test_emission_failures_never_fail_the_step(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    checks = Checks(step="s", path=blocker / "sub" / "checks.json", env={
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",  # nothing listens there
        "OTEL_EXPORTER_OTLP_TIMEOUT": "1"})
    checks.gate("accuracy", 0.9, ">", 0.85)
    assert checks.emit()[0].status == "passed"


def test_gate_file_names_are_safe_and_go_to_the_outputs_dir(tmp_path: Path) -> None:
    checks = Checks(step="s", env={"ARGOSCOPE_CHECKS_PATH": str(tmp_path / "d" / "c.json"),
                                   "ARGOSCOPE_OUTPUTS_DIR": str(tmp_path / "params")})
    checks.gate("../f1 score", 0.75, ">=", 0.7)
    checks.emit()
    assert (tmp_path / "params" / "f1_score").read_text() == "0.75"
    assert (tmp_path / "d" / "c.json").exists()


def test_identity_from_argo_env_and_one_trace_per_run() -> None:
    one = RunIdentity.from_env(ARGO_ENV)
    assert (one.workflow, one.step, one.template) == ("train-x7k2p", "validate-data",
                                                      "validate-data")
    other_step = RunIdentity.from_env({**ARGO_ENV, "ARGO_NODE_ID": "train-x7k2p-99"}, step="b")
    other_run = RunIdentity.from_env({**ARGO_ENV, "ARGO_WORKFLOW_NAME": "train-zzzzz"})
    assert one.trace_id == other_step.trace_id != other_run.trace_id
    # Older controllers set no ARGO_WORKFLOW_NAME: the node id still names the run.
    legacy = RunIdentity.from_env({"ARGO_NODE_ID": "train-x7k2p-1234567"})
    assert legacy.workflow == "train-x7k2p" and legacy.trace_id == one.trace_id
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert RunIdentity.from_env({"TRACEPARENT": parent}).trace_id == int(
        "0af7651916cd43dd8448eb211c80319c", 16)


def test_import_is_light() -> None:
    code = ("import sys, argoscope.checks; from argoscope.checks import Checks; "
            "print([m for m in ('great_expectations', 'evidently', 'sklearn', 'opentelemetry', "
            "'pandas', 'scipy', 'argoscope.reports', 'jinja2', 'leather') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert out.stdout.strip() == "[]"
