"""Unsupported fields are refused up front, with their path; nothing runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from argoscope.local.manifest import ManifestError, load
from tests.support.local_runs import workflow_yaml

GOOD_LEAF = "- name: leaf\n  container: {image: alpine, command: [echo, hi]}\n"


def main_dag(task_extra: str = "", dag_extra: str = "") -> str:
    return ("- name: main\n  dag:\n" + dag_extra +
            "    tasks:\n    - {name: a, template: leaf" + task_extra + "}\n" + GOOD_LEAF)


@pytest.mark.parametrize(("templates", "path"), [
    ("- name: main\n  steps: [[{name: a, template: leaf}]]\n" + GOOD_LEAF,
     "spec.templates[0].steps: not supported by the local runner"),
    (main_dag(", continueOn: {failed: true}"),
     "spec.templates[0].dag.tasks[0].continueOn: not supported"),
    (main_dag(", withSequence: {count: '3'}"),
     "spec.templates[0].dag.tasks[0].withSequence: not supported"),
    (main_dag(", onExit: leaf"), "spec.templates[0].dag.tasks[0].onExit: not supported"),
    (main_dag(dag_extra="    target: a\n"), "spec.templates[0].dag.target: not supported"),
    (main_dag().replace("template: leaf}", "templateRef: {name: x, template: y}}"),
     "spec.templates[0].dag.tasks[0].templateRef: not supported"),
    (main_dag(", depends: ghost"), "spec.templates[0].dag.tasks[0]: depends on unknown task 'ghost'"),
    (main_dag(", depends: a"), "spec.templates[0].dag.tasks: dependencies form a cycle"),
    (main_dag(", depends: a.Finished"), "unknown task result a.Finished"),
    ("- name: main\n  container: {image: alpine}\n",
     "spec.templates[0].container.command: required by the local runner"),
    ("- name: main\n  resource: {action: create}\n",
     "spec.templates[0].resource: not supported"),
    ("- name: main\n  suspend: {}\n", "spec.templates[0].suspend: not supported"),
    (main_dag().replace("  dag:", "  parallelism: '2'\n  dag:", 1),
     "spec.templates[0].parallelism: must be a whole number"),
    ("- name: main\n  inputs: {artifacts: [{name: x, path: /x}]}\n"
     "  container: {image: a, command: [echo]}\n",
     "spec.templates[0].inputs.artifacts: not supported"),
    ("- name: main\n  container: {image: a, command: [echo], env: [{name: X, valueFrom: {}}]}\n",
     "spec.templates[0].container.env[0].valueFrom: not supported"),
    ("- name: main\n  retryStrategy: {limit: 1, expression: 'true'}\n"
     "  container: {image: a, command: [echo]}\n",
     "spec.templates[0].retryStrategy.expression: not supported"),
    ("- name: main\n  outputs: {parameters: [{name: x, globalName: y, valueFrom: {path: /x}}]}\n"
     "  container: {image: a, command: [echo]}\n",
     "spec.templates[0].outputs.parameters[0].globalName: not supported"),
    (main_dag().replace("  dag:", "  outputs: {parameters: [{name: x, valueFrom: {path: /x}}]}\n  dag:", 1),
     "spec.templates[0].outputs: DAG template outputs are not supported"),
    ("- name: main\n  container: {image: a, command: [echo], volumeMounts: [{name: v, mountPath: /v}]}\n",
     "volumeMounts[0].name: volume 'v' is not declared"),
])
def test_unsupported_field_is_refused_with_its_path(tmp_path: Path, templates: str,
                                                    path: str) -> None:
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(workflow_yaml(templates))
    with pytest.raises(ManifestError) as error:
        load(manifest)
    assert path in str(error.value)
    assert str(manifest) in str(error.value)


def test_workflow_level_fields(tmp_path: Path) -> None:
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(workflow_yaml(main_dag()).replace(
        "  templates:", "  onExit: leaf\n  volumes: [{name: c, configMap: {name: x}}]\n  templates:"))
    with pytest.raises(ManifestError) as error:
        load(manifest)
    assert "spec.onExit: not supported" in str(error.value)
    assert "spec.volumes[0]: only emptyDir" in str(error.value)


def test_cluster_only_fields_are_noted_not_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(workflow_yaml(main_dag().replace(
        "command: [echo, hi]}", "command: [echo, hi], resources: {limits: {nvidia.com/gpu: 1}}}")))
    loaded = load(manifest)
    assert "spec.templates[1].container.resources" in loaded.notes


def test_missing_workflow_template_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "wf.yaml"
    manifest.write_text("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: x}\n"
                        "spec: {workflowTemplateRef: {name: nowhere}}\n")
    with pytest.raises(ManifestError, match="WorkflowTemplate 'nowhere' not found"):
        load(manifest)
