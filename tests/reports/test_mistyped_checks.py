"""A check document with fields of the wrong type never crashes `argoscope report`: each field
is read as the `argoscope.checks/v1` contract types it (`schema.well_typed`), a mistyped one
shown as missing. Generated over every field of a result and of a feature, on a real Argo
Workflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.checks.schema import PARAMETER, SCHEMA
from argoscope.cli import main
from tests.support.untimed import UNTIMED_CHECKS

GOOD = {"check": "drift", "kind": "drift", "status": "failed", "value": 0.6, "threshold": 0.5,
        "severity": "critical", "message": "1 of 2 features drifted", "op": ">",
        "details": {"drifted_count": 1.0},
        "features": [{"feature": "age", "method": "ks", "score": 0.01, "threshold": 0.05,
                      "drifted": True}]}
WRONG = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5),
                  st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3),
                                                                      st.integers(), max_size=2))


@pytest.fixture(scope="module")
def workflow(argo_fixtures: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((argo_fixtures / "awf-dag-exhausted-retries-xfail.yaml").read_text())
    return loaded["items"][0] if "items" in loaded else loaded


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, *UNTIMED_CHECKS])
@given(result_field=st.sampled_from(sorted(GOOD)), feature_field=st.sampled_from(
    sorted(GOOD["features"][0])), wrong=WRONG, other=WRONG)  # type: ignore[index]
def test_a_mistyped_field_is_shown_as_missing_never_a_crash(
        workflow: dict[str, Any], tmp_path: Path, result_field: str, feature_field: str,
        wrong: object, other: object, capsys: pytest.CaptureFixture[str]) -> None:
    result: dict[str, Any] = json.loads(json.dumps(GOOD))
    result["features"][0][feature_field] = other
    result[result_field] = wrong
    node = next(n for n in workflow["status"]["nodes"].values() if n.get("type") == "Pod")
    node.setdefault("outputs", {})["parameters"] = [
        {"name": PARAMETER, "value": json.dumps({"schema": SCHEMA, "results": [result]})}]
    dump, out = tmp_path / "dump.json", tmp_path / "report.html"
    dump.write_text(json.dumps(workflow))
    name = workflow["metadata"]["name"]
    assert main(["report", name, "--dump", str(dump), "-o", str(out)]) == 0, \
        capsys.readouterr().err
    assert out.is_file()
