"""The reference pipeline declares each step's report as an output artifact Argo's UI shows."""

from __future__ import annotations

from pathlib import Path

import yaml

from argoscope.pipeline import STEPS
from argoscope.reports import REPORT_PATH_ENV

TEMPLATE = Path(__file__).resolve().parents[2] / "manifests" / "pipeline" / "workflowtemplate.yaml"


def test_every_step_writes_its_report_to_the_declared_artifact() -> None:
    document = yaml.safe_load(TEMPLATE.read_text())
    templates = {t["name"]: t for t in document["spec"]["templates"]}
    for step in STEPS:
        template = templates[step]
        env = {e["name"]: e["value"] for e in template["container"]["env"]}
        artifacts = {a["name"]: a for a in template["outputs"]["artifacts"]}
        report = artifacts["step-report"]
        assert report["path"] == env[REPORT_PATH_ENV], step
        assert report["path"].endswith(".html")
        # Unarchived, so the UI serves the page itself (not a .tgz); optional, so a step that
        # crashed before its checks ran keeps its own phase.
        assert report["archive"] == {"none": {}} and report["optional"] is True, step
