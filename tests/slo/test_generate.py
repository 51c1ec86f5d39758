"""`argoscope slo generate`: every valid spec gives rules promtool accepts, whose PromQL parses
and keeps `cluster` through every aggregation and join; the file is what `-o` writes."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.cli import main
from argoscope.slo import records
from tests.slo.specs import names, openslo, openslo_document, short_slo
from tests.support.grouping import dropped
from tests.support.servers import require_binary
from tests.support.untimed import UNTIMED_CHECKS

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, *UNTIMED_CHECKS])


def _write(path: Path, *documents: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump_all(documents, allow_unicode=True), encoding="utf-8")
    return path


def _generate(spec: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["slo", "generate", str(spec), "-o", str(out)]) == 0, capsys.readouterr().err
    document: dict[str, Any] = yaml.safe_load(out.read_text(encoding="utf-8"))
    return document


def _check_rules(document: dict[str, Any], path: Path) -> None:
    promtool = require_binary("promtool")
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for group in document["groups"]:
        for rule in group["rules"]:
            expr = promql_parser.parse(rule["expr"])
            assert dropped(expr) == [], (group["name"], rule.get("record") or rule["alert"])


@st.composite
def _specs(draw: st.DrawFn) -> list[dict[str, Any]]:
    slo_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    return [draw(short_slo(name)) for name in slo_names]


@st.composite
def _documents(draw: st.DrawFn) -> list[dict[str, Any]]:
    """OpenSLO documents, with a short-form document among them or not."""
    slo_names = draw(st.lists(names, min_size=2, max_size=4, unique=True))
    documents = [draw(openslo_document(name)) for name in slo_names[1:]]
    if draw(st.booleans()):
        documents.insert(draw(st.integers(0, len(documents))),
                         {"slos": [draw(short_slo(slo_names[0]))]})
    return documents


@SETTINGS
@given(documents=_documents())
def test_valid_openslo_documents_give_rules_promtool_accepts(
        documents: list[dict[str, Any]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rules.yaml"
    document = _generate(_write(tmp_path / "spec.yaml", *documents), out, capsys)
    _check_rules(document, out)
    names_in_order = [d["metadata"]["name"] if "metadata" in d else d["slos"][0]["name"]
                      for d in documents]
    assert [g["name"] for g in document["groups"]] == [f"argoscope.slo.{n}" for n in names_in_order]


@SETTINGS
@given(slos=_specs())
def test_valid_short_form_specs_give_rules_promtool_accepts(
        slos: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rules.yaml"
    document = _generate(_write(tmp_path / "spec.yaml", {"slos": slos}), out, capsys)
    _check_rules(document, out)
    # One group per SLO, each recording the budget and both severities of the one alert.
    assert [g["name"] for g in document["groups"]] == [f"argoscope.slo.{s['name']}" for s in slos]
    for group, slo in zip(document["groups"], slos, strict=True):
        recorded = {rule.get("record") for rule in group["rules"]}
        assert records.BUDGET_REMAINING in recorded and records.error_ratio(300) in recorded
        alerts = [rule for rule in group["rules"] if "alert" in rule]
        assert [(a["alert"], a["labels"]["severity"], a["labels"]["slo"]) for a in alerts] == [
            (records.ALERT, "critical", slo["name"]), (records.ALERT, "warning", slo["name"])]
        assert all(rule["labels"]["slo"] == slo["name"] for rule in group["rules"])


@pytest.mark.parametrize("budgeting", ["Occurrences", "Timeslices"])
@pytest.mark.parametrize("templated", [False, True])
@pytest.mark.parametrize("good", [True, False])
def test_openslo_documents_give_rules_promtool_accepts(
        budgeting: str, templated: bool, good: bool, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    spec = _write(tmp_path / "spec.yaml", openslo("train-success", budgeting, templated, good),
                  {"slos": [{"name": "etl-success", "sli": "run_success", "pipeline": "etl",
                             "objective": 0.95}]})
    out = tmp_path / "rules.yaml"
    document = _generate(spec, out, capsys)
    _check_rules(document, out)
    group = document["groups"][0]
    assert group["name"] == "argoscope.slo.train-success"
    # Timeslices evaluate once per slice; the annotation's min-events gates the page.
    assert group.get("interval") == ("5m" if budgeting == "Timeslices" else None)
    critical = next(r for r in group["rules"] if r.get("labels", {}).get("severity") == "critical")
    assert ">= 3" in critical["expr"]


def test_stdout_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = _write(tmp_path / "spec.yaml", {"slos": [
        {"name": "etl-success", "sli": "run_success", "pipeline": "etl", "objective": 0.95}]})
    assert main(["slo", "generate", str(spec)]) == 0
    printed = capsys.readouterr().out
    assert yaml.safe_load(printed)["groups"][0]["name"] == "argoscope.slo.etl-success"
    out = tmp_path / "out.yaml"
    assert main(["slo", "generate", str(spec), "--check", "-o", str(out)]) == 0
    assert not out.exists()
    assert main(["slo", "generate", str(spec), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == printed


def test_factors_scale_with_the_window(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """30 days keeps the workbook's 14.4 / 6 / 3 / 1; 7 days scales each by 7/30."""
    def thresholds(window: str) -> list[str]:
        spec = _write(tmp_path / f"{window}.yaml", {"slos": [
            {"name": "s", "sli": "run_success", "pipeline": "p", "objective": 0.99,
             "window": window}]})
        document = _generate(spec, tmp_path / f"{window}-rules.yaml", capsys)
        exprs = [r["expr"] for r in document["groups"][0]["rules"] if "alert" in r]
        return [line.rsplit("> ", 1)[1] for expr in exprs for line in expr.splitlines()
                if "ratio_rate" in line and "/ 0.01 >" in line]

    assert thresholds("30d") == ["14.4", "14.4", "6", "6", "3", "3", "1", "1"]
    assert thresholds("7d") == ["3.36", "3.36", "1.4", "1.4", "0.7", "0.7", "0.233333", "0.233333"]


def test_usage_and_output_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slo"]) == 2
    assert "generate" in capsys.readouterr().err
    spec = _write(tmp_path / "spec.yaml", {"slos": [
        {"name": "a", "sli": "run_success", "pipeline": "p", "objective": 0.9}]})
    (tmp_path / "file").write_text("")
    assert main(["slo", "generate", str(spec), "-o", str(tmp_path / "file" / "rules.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"argoscope slo: -o {tmp_path / 'file'}")
