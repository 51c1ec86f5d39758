"""The shipped reference-pipeline manifests: the seed's shape, and accepted by the runner."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from argoscope.checks.emit import DEFAULT_PATH
from argoscope.local.manifest import load
from argoscope.pipeline import STEPS
from argoscope.pipeline.cli import build_parser

PIPELINE = Path(__file__).resolve().parents[2] / "manifests" / "pipeline"
IMAGE = "ghcr.io/argoscope/argoscope-pipeline:0.1.0"


def documents() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(PIPELINE.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            found[document["kind"]] = document
    return found


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return documents()["WorkflowTemplate"]


def substitute(text: str, template: dict[str, Any]) -> str:
    """`text` with workflow and input parameters replaced by the workflow's defaults."""
    for parameter in template["spec"]["arguments"]["parameters"]:
        for scope in ("workflow.parameters", "inputs.parameters"):
            text = text.replace(f"{{{{{scope}.{parameter['name']}}}}}", parameter["value"])
    assert "{{" not in text, text
    return text


def templates(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in template["spec"]["templates"]}


def test_dag_is_the_seed_chain_with_the_deployment_gate(template: dict[str, Any]) -> None:
    entry = templates(template)[template["spec"]["entrypoint"]]
    tasks = {task["name"]: task for task in entry["dag"]["tasks"]}
    assert list(tasks) == list(STEPS)
    for before, after in itertools.pairwise(STEPS):
        assert tasks[after]["dependencies"] == [before]
    assert tasks["model-deployment"]["when"] == (
        "{{tasks.model-validation.outputs.parameters.accuracy}} > 0.85")


def test_every_step_reports_checks_retries_and_has_resources(template: dict[str, Any]) -> None:
    by_name = templates(template)
    for step in STEPS:
        spec = by_name[step]
        outputs = {p["name"]: p["valueFrom"]["path"] for p in spec["outputs"]["parameters"]}
        assert outputs["argoscope-checks"] == DEFAULT_PATH, step
        env = {e["name"]: e["value"] for e in spec["container"]["env"]}
        assert env["ARGOSCOPE_CHECKS_PATH"] == DEFAULT_PATH, step
        assert spec["container"]["image"] == IMAGE
        assert spec["container"]["args"][0] == step
        # The step's arguments, with the default parameters, are ones the step code accepts.
        args = [substitute(arg, template) for arg in spec["container"]["args"]]
        parsed = build_parser().parse_args(args)
        assert (parsed.step, parsed.data_dir) == (step, Path("/data"))
        resources = spec["container"]["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys() <= resources["limits"].keys()
        retry = spec["retryStrategy"]
        assert int(retry["limit"]) >= 1 and retry["backoff"]["duration"], step
        mounts = {m["name"]: m["mountPath"] for m in spec["container"]["volumeMounts"]}
        assert mounts["workdir"] == "/data"
    assert by_name["model-training"]["container"]["resources"]["requests"][
        "nvidia.com/gpu"] == "1"
    validation = {p["name"]: p["valueFrom"]["path"]
                  for p in by_name["model-validation"]["outputs"]["parameters"]}
    # The gate file argoscope.checks writes beside the document.
    assert validation["accuracy"] == str(Path(DEFAULT_PATH).parent / "accuracy")
    # Transient failures of ingestion (a source) are retried; deterministic checks are not.
    assert by_name["data-ingestion"]["retryStrategy"]["retryPolicy"] == "OnFailure"
    assert by_name["preprocessing"]["retryStrategy"]["retryPolicy"] == "OnError"
    # The attempt number reaches the step, so a transient crash fails only the first attempt.
    ingestion_env = {e["name"]: e["value"] for e in by_name["data-ingestion"]["container"]["env"]}
    assert ingestion_env["ARGOSCOPE_RETRY"] == "{{retries}}"


def test_data_passes_on_a_volume_and_the_registry_on_a_claim(template: dict[str, Any]) -> None:
    spec = template["spec"]
    assert [c["metadata"]["name"] for c in spec["volumeClaimTemplates"]] == ["workdir"]
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"]}
    pvc = documents()["PersistentVolumeClaim"]
    assert claims["model-registry"] == pvc["metadata"]["name"]
    parameters = {p["name"]: p["value"] for p in spec["arguments"]["parameters"]}
    assert parameters["data-dir"] == "/data"
    assert parameters["crash"] == "none"


def test_workflow_and_cron_reference_the_template(template: dict[str, Any]) -> None:
    found = documents()
    name = template["metadata"]["name"]
    assert found["Workflow"]["spec"]["workflowTemplateRef"]["name"] == name
    assert found["CronWorkflow"]["spec"]["workflowSpec"]["workflowTemplateRef"]["name"] == name
    assert found["CronWorkflow"]["spec"]["schedules"]


def test_runner_accepts_the_manifests_as_shipped() -> None:
    # load() refuses, with the field's path, anything the runner would not run.
    for path in (PIPELINE / "workflow.yaml", PIPELINE / "workflowtemplate.yaml"):
        manifest = load(path)
        assert manifest.template_name == "ml-reference-pipeline"
