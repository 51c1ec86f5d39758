"""`argoscope exporter` as a user runs it: --once, bad input, promtool, real Prometheus."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.metrics import samples, total
from tests.support.servers import exporter, prometheus, query, require_binary

ARGOSCOPE = [sys.executable, "-m", "argoscope.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARGOSCOPE, *args], capture_output=True, text=True, timeout=120)


def test_once_over_upstream_fixtures_prints_a_valid_exposition(argo_fixtures: Path) -> None:
    result = run("exporter", "--source", f"file:{argo_fixtures}", "--once")
    assert result.returncode == 0, result.stderr
    s = samples(result.stdout)
    assert total(s, "argoscope_workflows") == 11
    assert total(s, "argoscope_step_runs_total") > 20
    promtool = require_binary("promtool")
    check = subprocess.run([promtool, "check", "metrics"], input=result.stdout,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_missing_path_exits_2_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = run("exporter", "--source", f"file:{missing}", "--once")
    assert result.returncode == 2
    assert str(missing) in result.stderr and "no such file" in result.stderr


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [("bad.yaml", "a: [unclosed\n", "invalid YAML"),
     ("bad.json", "{\"kind\": ", "invalid JSON")],
)
def test_unparsable_file_exits_2_with_file_and_reason(tmp_path: Path, name: str, content: str,
                                                      reason: str) -> None:
    (tmp_path / "good.yaml").write_text("kind: Workflow\nmetadata: {name: w}\n")
    (tmp_path / name).write_text(content)
    result = run("exporter", "--source", f"file:{tmp_path}", "--once")
    assert result.returncode == 2
    assert name in result.stderr and reason in result.stderr


def test_list_multidoc_and_foreign_kinds(tmp_path: Path) -> None:
    (tmp_path / "dump.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {kind: Workflow, metadata: {name: a-1, generateName: a-},"
        " status: {phase: Succeeded, startedAt: '2026-01-01T00:00:00Z',"
        " finishedAt: '2026-01-01T00:01:00Z'}}\n"
        "- {kind: ConfigMap, metadata: {name: cm}}\n"
        "---\n"
        "kind: Workflow\nmetadata: {name: b-1, generateName: b-}\nstatus: {phase: Running}\n")
    result = run("exporter", "--source", f"file:{tmp_path}", "--once")
    assert result.returncode == 0, result.stderr
    s = samples(result.stdout)
    assert total(s, "argoscope_workflow_runs_total", pipeline="a") == 1
    assert total(s, "argoscope_workflows", pipeline="b", phase="Running") == 1
    assert total(s, "argoscope_exporter_objects_skipped_total", reason="unknown_kind") == 1
    assert "ConfigMap" in result.stderr  # logged once


@pytest.mark.e2e
def test_real_prometheus_scrapes_the_exporter(argo_fixtures: Path) -> None:
    with exporter(["--source", f"file:{argo_fixtures}"]) as exp:
        host_port = exp.url.removeprefix("http://")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "argoscope", "static_configs": [
                {"targets": [host_port]}]}],
        }
        with prometheus(config) as prom:
            from tests.support.net import wait_until

            wait_until(lambda: bool(query(prom.url, "argoscope_step_runs_total")),
                       timeout=30, what="first scrape")
            result = query(prom.url, 'sum by (phase) (argoscope_step_runs_total'
                                     '{pipeline="dag-with-retries", step="step1"})')
            by_phase = {r["metric"]["phase"]: float(r["value"][1]) for r in result}
            assert by_phase == {"Failed": 2.0, "Succeeded": 1.0}
            up = query(prom.url, 'up{job="argoscope"}')
            assert [float(r["value"][1]) for r in up] == [1.0]


def test_the_tenant_budget_defaults_are_the_models() -> None:
    from argoscope.exporter import cli, series

    assert cli.DEFAULT_MAX_SERIES_PER_NAMESPACE == series.DEFAULT_MAX_SERIES_PER_NAMESPACE
    assert cli.DEFAULT_MAX_NAMESPACES == series.DEFAULT_MAX_NAMESPACES
