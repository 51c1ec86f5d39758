"""The demo's summary reads each step's check documents through the exporter's parser, so
it shows exactly the results the exporter counts: a document the exporter refuses shows no
checks, not a half-read one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from argoscope.demo.scenarios import SCENARIOS, RunReport
from argoscope.demo.summary import run_lines
from argoscope.exporter.checkdocs import (
    DEFAULT_MAX_BYTES,
    SCHEMA,
    MalformedDocument,
    parse_document,
)
from argoscope.local.runs import load_run

ACCURACY = {"check": "accuracy", "kind": "gate", "status": "failed", "value": 0.8,
            "threshold": 0.85, "op": ">="}


def _run_with_checks(state: Path, document: str) -> RunReport:
    """A finished run whose one step reported `document` as its check results."""
    name = "wf-1"
    nodes: dict[str, Any] = {
        name: {"id": name, "displayName": name, "type": "DAG", "phase": "Succeeded",
               "children": ["wf-1-1"]},
        "wf-1-1": {"id": "wf-1-1", "displayName": "model-validation", "type": "Pod",
                   "phase": "Succeeded", "boundaryID": name,
                   "outputs": {"parameters": [{"name": "argoscope-checks", "value": document}]}},
    }
    path = state / "workflows" / f"{name}.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({
        "metadata": {"name": name, "namespace": "argo-local"},
        "status": {"phase": "Succeeded", "startedAt": "2026-01-01T00:00:00Z",
                   "finishedAt": "2026-01-01T00:00:05Z", "nodes": nodes}}))
    return RunReport(SCENARIOS[0], load_run(path, state))


def test_a_document_the_exporter_counts_is_summarised(tmp_path: Path) -> None:
    document = json.dumps({"schema": SCHEMA, "results": [ACCURACY]})
    assert [r["check"] for r in parse_document(document, DEFAULT_MAX_BYTES)] == ["accuracy"]
    lines = "\n".join(run_lines([_run_with_checks(tmp_path, document)], ""))
    assert "checks: 0 of 1 passed" in lines
    assert "failed: model-validation/accuracy: 0.80 < 0.85 (needs >= 0.85)" in lines


@pytest.mark.parametrize("body", [
    {"schema": "argoscope.checks/v0", "results": [ACCURACY]},    # another schema
    {"schema": SCHEMA, "results": [{**ACCURACY, "status": "bad"}]},  # an unknown status
    {"schema": SCHEMA, "results": [ACCURACY, {"status": "passed"}]},  # a result without a name
])
def test_a_document_the_exporter_refuses_shows_no_checks(tmp_path: Path,
                                                         body: dict[str, Any]) -> None:
    document = json.dumps(body)
    with pytest.raises(MalformedDocument):
        parse_document(document, DEFAULT_MAX_BYTES)
    lines = "\n".join(run_lines([_run_with_checks(tmp_path, document)], ""))
    assert "checks: none reported" in lines and "accuracy" not in lines
