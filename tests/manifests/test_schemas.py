"""Every manifest parses, every kustomization builds, and every object validates offline.

- Kubernetes objects: `kubernetes-validate` (the Kubernetes OpenAPI schemas it ships),
  strict, so misspelt fields fail too.
- Prometheus Operator objects (ServiceMonitor, PrometheusRule): the typed models of
  `cloudcoil-models-prometheus-operator`, generated from the operator's CRD schemas; a model
  silently drops unknown fields, so each object must also survive a round trip unchanged.
- Argo objects (manifests/pipeline): Argo's own Workflow JSON Schema from ../shared.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from cloudcoil.models.prometheus_operator import v1 as monitoring_v1

from tests.manifests.kustomize import (
    KUSTOMIZATIONS,
    MANIFESTS,
    REPO,
    build,
    of_kind,
    one,
    yaml_files,
)

# The oldest Kubernetes still commonly run, and the newest the validator ships schemas for.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
OPERATOR_MODELS = {"ServiceMonitor": monitoring_v1.ServiceMonitor,
                   "PrometheusRule": monitoring_v1.PrometheusRule}
ARGO_KINDS = {"Workflow", "WorkflowTemplate", "CronWorkflow", "ClusterWorkflowTemplate"}
PIPELINE = MANIFESTS / "pipeline"


def validate_kubernetes(obj: dict[str, Any]) -> None:
    """Raise when `obj` does not validate against the Kubernetes OpenAPI schema (strict)."""
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(obj, version, strict=True)


def validate_operator(obj: dict[str, Any]) -> None:
    """Raise when a Prometheus Operator object does not fit its CRD's typed model."""
    model = OPERATOR_MODELS[obj["kind"]].model_validate(obj)
    assert model.model_dump(mode="json", by_alias=True, exclude_none=True) == obj, (
        f"{obj['kind']} {obj['metadata']['name']} has fields its CRD does not define")


def test_every_manifest_file_parses() -> None:
    files = yaml_files()
    assert files
    for path in files:
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        assert documents, f"{path} is empty"
        for document in documents:
            assert isinstance(document, dict), f"{path}: a document is not a mapping"
            if path.name != "kustomization.yaml" or "kind" in document:
                assert {"apiVersion", "kind"} <= document.keys(), f"{path}: no apiVersion/kind"


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_kustomization_builds_with_the_expected_objects(
        builds: dict[str, list[dict[str, Any]]], name: str) -> None:
    kinds = {obj["kind"] for obj in builds[name]}
    assert {"Namespace", "ServiceAccount", "Deployment", "Service", "NetworkPolicy"} <= kinds
    sidecar_configmaps = [o for o in of_kind(builds[name], "ConfigMap")
                          if o["metadata"]["labels"].get("grafana_dashboard") == "1"]
    assert len(sidecar_configmaps) == len(list((REPO / "dashboards").glob("*.json")))
    operator = {"ServiceMonitor", "PrometheusRule"}
    if name == "plain-prometheus":
        assert not operator & kinds
        one(builds[name], "ConfigMap", "argoscope-prometheus-rules")
    else:
        assert operator <= kinds


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_kubernetes_objects_validate_against_the_openapi_schemas(
        builds: dict[str, list[dict[str, Any]]], name: str) -> None:
    checked = 0
    for obj in builds[name]:
        if obj["kind"] in OPERATOR_MODELS:
            continue
        validate_kubernetes(obj)
        checked += 1
    assert checked >= 7


def test_openapi_validation_rejects_a_misspelt_field(
        builds: dict[str, list[dict[str, Any]]]) -> None:
    deployment = copy.deepcopy(one(builds["base"], "Deployment"))
    validate_kubernetes(deployment)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContxt"] = container.pop("securityContext")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_kubernetes(deployment)


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_operator_objects_fit_their_crd_models(
        builds: dict[str, list[dict[str, Any]]], name: str) -> None:
    for obj in builds[name]:
        if obj["kind"] in OPERATOR_MODELS:
            validate_operator(obj)


def test_operator_model_check_rejects_unknown_and_mistyped_fields(
        builds: dict[str, list[dict[str, Any]]]) -> None:
    monitor = copy.deepcopy(one(builds["base"], "ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["scrapeIntervall"] = "30s"
    with pytest.raises(AssertionError, match="fields its CRD does not define"):
        validate_operator(monitor)
    rule = copy.deepcopy(one(builds["base"], "PrometheusRule"))
    rule["spec"]["groups"] = [{"name": "g", "rules": "not a list"}]
    with pytest.raises(ValueError):
        validate_operator(rule)


def _pipeline_argo_objects() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted([*PIPELINE.rglob("*.yaml"), *PIPELINE.rglob("*.yml")]):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and document.get("kind") in ARGO_KINDS:
                found.append((path, document))
    return found


@pytest.fixture(scope="session")
def argo_schema(shared_dir: Path) -> dict[str, Any]:
    """Argo's Workflow JSON Schema (../shared/schemas/argo/schema.json)."""
    path = shared_dir / "schemas" / "argo" / "schema.json"
    if not path.is_file():
        pytest.skip("../shared/schemas/argo/schema.json is absent")
    return dict(json.loads(path.read_text()))


def argo_validator(schema: dict[str, Any], kind: str) -> jsonschema.Draft202012Validator:
    """A strict validator for one Argo kind, resolving references inside Argo's schema.

    Argo's schema leaves `additionalProperties` open, so a misspelt field would pass; like
    kubernetes-validate's strict schemas, every object with declared properties is closed
    here (the schema has no allOf/anyOf/oneOf for this to break).
    """
    definitions = copy.deepcopy(schema["definitions"])
    for definition in definitions.values():
        if "properties" in definition:
            definition.setdefault("additionalProperties", False)
    return jsonschema.Draft202012Validator({
        "$ref": f"#/definitions/io.argoproj.workflow.v1alpha1.{kind}",
        "definitions": definitions,
    })


def test_reference_pipeline_objects_validate_against_argo_schema(
        argo_schema: dict[str, Any]) -> None:
    objects = _pipeline_argo_objects()
    kinds = {obj["kind"] for _, obj in objects}
    assert {"WorkflowTemplate", "Workflow", "CronWorkflow"} <= kinds, (
        f"manifests/pipeline should hold a WorkflowTemplate, Workflow and CronWorkflow; "
        f"found {sorted(kinds)}")
    for path, obj in objects:
        errors = sorted(argo_validator(argo_schema, obj["kind"]).iter_errors(obj), key=str)
        assert not errors, f"{path.relative_to(MANIFESTS)}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5])


def test_argo_schema_check_accepts_a_template_and_rejects_a_broken_one(
        argo_schema: dict[str, Any]) -> None:
    template = {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
                "metadata": {"name": "x", "namespace": "argo"},
                "spec": {"entrypoint": "main", "templates": [
                    {"name": "main", "dag": {"tasks": [
                        {"name": "a", "template": "t"},
                        {"name": "b", "template": "t", "dependencies": ["a"]}]}},
                    {"name": "t", "container": {"image": "busybox:1.36", "command": ["true"],
                                                "resources": {"limits": {"cpu": "1"}}}}]}}
    validator = argo_validator(argo_schema, "WorkflowTemplate")
    assert not list(validator.iter_errors(template))
    mistyped = copy.deepcopy(template)
    mistyped["spec"]["templates"][0]["dag"]["tasks"][1]["dependencies"] = "a"
    assert list(validator.iter_errors(mistyped))
    misspelt = copy.deepcopy(template)
    misspelt["spec"]["templates"][1]["container"]["comand"] = ["true"]
    assert list(validator.iter_errors(misspelt))


def test_reference_pipeline_kustomization_builds(kubectl: str) -> None:
    """manifests/pipeline has no kustomization of its own unless its author adds one."""
    kustomization = PIPELINE / "kustomization.yaml"
    if kustomization.is_file():
        objects = build(kubectl, PIPELINE)
        assert {obj["kind"] for obj in objects} & ARGO_KINDS
        for obj in objects:  # the Kubernetes objects beside the Argo ones (a PVC, ...)
            if obj["kind"] not in ARGO_KINDS:
                validate_kubernetes(obj)
    else:
        assert _pipeline_argo_objects(), "manifests/pipeline holds no Argo object"
