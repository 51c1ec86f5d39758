"""What the generated rules compute, evaluated by promtool on series as the exporter (or a
Prometheus 3 that normalises bucket bounds) writes them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from argoscope.slo.load import parse_text
from argoscope.slo.rules import render
from tests.support.servers import require_binary

SPEC = """
slos:
  - {name: lat, sli: step_latency, pipeline: etl, step: train, threshold: 30m, objective: 0.9}
  - {name: runs, sli: run_success, pipeline: etl, namespace: ml, objective: 0.9}
"""
SERIES = 'namespace="ml", pipeline="etl"'


def _promtool_test(tmp_path: Path, series: list[dict[str, str]],
                   expected: list[dict[str, object]]) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(render(parse_text(SPEC, "spec.yaml"), ["spec.yaml"]), encoding="utf-8")
    test = tmp_path / "test.yaml"
    test.write_text(yaml.safe_dump({
        "rule_files": [rules.name], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": expected}],
    }), encoding="utf-8")
    result = subprocess.run([require_binary("promtool"), "test", "rules", test.name],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("bound", ["1800.0", "1800"])
def test_step_latency_reads_the_bucket_bound_however_it_is_written(
        tmp_path: Path, bound: str) -> None:
    """prometheus_client writes `le="1800.0"`, Prometheus 3 stores `le="1800"`: same counts.
    Five attempts born within the window count in full: three fast, two slow."""
    labels = f'{SERIES}, step="train", phase="Succeeded"'
    _promtool_test(tmp_path, [
        {"series": f'argoscope_step_duration_seconds_bucket{{{labels}, le="{bound}"}}',
         "values": "3x10"},
        {"series": f'argoscope_step_duration_seconds_bucket{{{labels}, le="+Inf"}}',
         "values": "5x10"},
        # Another step's slow attempts are not this SLO's.
        {"series": f'argoscope_step_duration_seconds_bucket{{{SERIES}, step="eval", '
                   'phase="Succeeded", le="+Inf"}', "values": "7x10"},
    ], [
        {"expr": 'argoscope_slo:sli_events:increase1h{slo="lat"}', "eval_time": "5m",
         "exp_samples": [{"labels": f'argoscope_slo:sli_events:increase1h{{{SERIES}, slo="lat"}}',
                          "value": 5}]},
        {"expr": 'argoscope_slo:sli_error:ratio_rate1h{slo="lat"}', "eval_time": "5m",
         "exp_samples": [{"labels": f'argoscope_slo:sli_error:ratio_rate1h{{{SERIES}, slo="lat"}}',
                          "value": 0.4}]},
        # 40% bad over the window against a 10% budget: 3 budgets overspent.
        {"expr": 'argoscope_slo:error_budget_remaining:ratio{slo="lat"}', "eval_time": "5m",
         "exp_samples": [{"labels": f'argoscope_slo:error_budget_remaining:ratio{{{SERIES}, '
                                    'slo="lat"}', "value": -3}]},
    ])


def test_a_pipeline_without_failures_has_a_zero_error_ratio_not_none(tmp_path: Path) -> None:
    """No Failed series at all: the error count is 0 (not absent), so the budget is whole;
    runs of the same pipeline name in another namespace are not counted."""
    _promtool_test(tmp_path, [
        {"series": f'argoscope_workflow_runs_total{{{SERIES}, phase="Succeeded"}}',
         "values": "4x10"},
        {"series": 'argoscope_workflow_runs_total{namespace="other", pipeline="etl", '
                   'phase="Failed"}', "values": "9x10"},
    ], [
        {"expr": 'argoscope_slo:sli_errors:increase28d{slo="runs"}', "eval_time": "5m",
         "exp_samples": [{"labels": f'argoscope_slo:sli_errors:increase28d{{{SERIES}, '
                                    'slo="runs"}', "value": 0}]},
        {"expr": 'argoscope_slo:error_budget_remaining:ratio{slo="runs"}', "eval_time": "5m",
         "exp_samples": [{"labels": f'argoscope_slo:error_budget_remaining:ratio{{{SERIES}, '
                                    'slo="runs"}', "value": 1}]},
    ])
