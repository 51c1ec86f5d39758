"""The Argo-shaped state the runner writes: node records, Workflow and Pod objects.

State directory contract (others rely on it):
`DIR/workflows/<workflow-name>.json` holds the Workflow object (kind Workflow, metadata,
spec, Argo-shaped status), rewritten atomically (temp file + rename) as the run proceeds;
`DIR/pods/<pod-name>.json` holds one Pod object per Pod node. Logs and outputs live under
`DIR/runs/<workflow-name>/`.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
PIPELINE_LABEL = "argoscope.io/pipeline"
NODE_ID_ANNOTATION = "workflows.argoproj.io/node-id"
NODE_NAME_ANNOTATION = "workflows.argoproj.io/node-name"
WORKFLOWS_DIR = "workflows"
PODS_DIR = "pods"
RUNS_DIR = "runs"
# The run report `argoscope report` writes beside a run's logs (DIR/runs/<run>/).
RUN_REPORT_FILE = "report.html"
FINISHED = frozenset({"Succeeded", "Failed", "Error", "Skipped", "Omitted"})
# The phases that fail a node, a DAG and a run (Argo's "failed or errored").
FAILED = frozenset({"Failed", "Error"})
# The message of a step, and of the run, that Ctrl-C stopped (not a failure of the step's code).
STOPPED_MESSAGE = "Stopped by user"


def rfc3339(moment: float | None) -> str | None:
    """Unix seconds as Argo's RFC 3339 timestamp (UTC, whole seconds)."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fnv32a(text: str) -> int:
    """FNV-1a 32-bit, the hash Argo uses for node ids."""
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def node_id(workflow: str, node_name: str) -> str:
    """Argo's node id: the workflow name for the root node, else `<wf>-<fnv32a(name)>`."""
    if node_name == workflow:
        return workflow
    return f"{workflow}-{fnv32a(node_name)}"


def pod_name(workflow: str, template: str, node_name: str) -> str:
    """Argo's v2 pod name: `<wf>-<template>-<hash>`, shortened to 63 characters."""
    suffix = str(fnv32a(node_name))
    prefix = f"{workflow}-{template}" if template else workflow
    if len(prefix) + len(suffix) + 1 > 63:
        prefix = prefix[: 63 - len(suffix) - 1].rstrip("-")
    return f"{prefix}-{suffix}"


@dataclass
class Node:
    """One entry of `status.nodes`."""

    id: str
    name: str
    display_name: str
    type: str
    template_name: str
    boundary_id: str | None
    phase: str = "Pending"
    started: float | None = None
    finished: float | None = None
    message: str = ""
    children: list[str] = field(default_factory=list)
    outbound: list[str] = field(default_factory=list)
    inputs: dict[str, str] | None = None
    outputs: dict[str, str] | None = None
    result: str | None = None
    exit_code: int | None = None
    resources: dict[str, int] | None = None
    pod: str | None = None

    @property
    def finished_phase(self) -> bool:
        """Whether the node reached a final phase."""
        return self.phase in FINISHED

    def to_argo(self) -> dict[str, Any]:
        """The node as Argo writes it in `status.nodes`."""
        node: dict[str, Any] = {
            "id": self.id, "name": self.name, "displayName": self.display_name,
            "type": self.type, "phase": self.phase,
        }
        if self.template_name:
            node["templateName"] = self.template_name
            node["templateScope"] = "local/"
        if self.boundary_id:
            node["boundaryID"] = self.boundary_id
        if self.started is not None:
            node["startedAt"] = rfc3339(self.started)
        node["finishedAt"] = rfc3339(self.finished) if self.finished_phase else None
        if self.message:
            node["message"] = self.message
        if self.children:
            node["children"] = list(self.children)
        if self.outbound and self.type not in ("Pod", "Skipped"):
            node["outboundNodes"] = list(self.outbound)
        if self.inputs:
            node["inputs"] = {"parameters": [{"name": k, "value": v} for k, v in self.inputs.items()]}
        outputs: dict[str, Any] = {}
        if self.outputs:
            outputs["parameters"] = [{"name": k, "value": v} for k, v in self.outputs.items()]
        if self.result is not None:
            outputs["result"] = self.result
        if self.exit_code is not None:
            outputs["exitCode"] = str(self.exit_code)
        if outputs:
            node["outputs"] = outputs
        if self.resources:
            node["resourcesDuration"] = dict(self.resources)
        if self.type == "Pod":
            node["hostNodeName"] = "local"
            node["progress"] = "1/1" if self.finished_phase else "0/1"
        return node


@dataclass(frozen=True, slots=True)
class WorkflowIdentity:
    """What a run's Workflow object says besides its nodes and phase: who it is, what it runs."""

    name: str
    namespace: str
    uid: str
    created: float
    spec: Mapping[str, Any]
    parameters: Mapping[str, str]
    template_name: str | None = None
    generate_name: str | None = None
    pipeline: str | None = None  # the manifest's `argoscope.io/pipeline` label, kept as Argo keeps labels


@dataclass(frozen=True, slots=True)
class WorkflowProgress:
    """Where a run is: its phase, message and times."""

    phase: str
    message: str
    started: float | None
    finished: float | None


def workflow_object(identity: WorkflowIdentity, progress: WorkflowProgress,
                    nodes: Iterable[Node]) -> dict[str, Any]:
    """The Workflow as Argo would show it: metadata, spec and an Argo-shaped status."""
    nodes = list(nodes)
    spec = dict(identity.spec)
    arguments = {"parameters": [{"name": k, "value": v} for k, v in identity.parameters.items()]}
    labels = {"workflows.argoproj.io/phase": progress.phase,
              "workflows.argoproj.io/completed": "true" if progress.finished else "false"}
    status: dict[str, Any] = {"phase": progress.phase,
                              "startedAt": rfc3339(progress.started),
                              "finishedAt": rfc3339(progress.finished)}
    if identity.pipeline:
        # The explicit pipeline identity, which argoscope's exporter reads before any other rule.
        labels[PIPELINE_LABEL] = identity.pipeline
    if identity.template_name:
        labels["workflows.argoproj.io/workflow-template"] = identity.template_name
        spec = {"workflowTemplateRef": {"name": identity.template_name},
                "arguments": arguments}
        status["storedWorkflowTemplateSpec"] = {**identity.spec, "arguments": arguments}
    else:
        spec["arguments"] = arguments
    pods = [n for n in nodes if n.type == "Pod"]
    done = sum(1 for n in pods if n.finished_phase)
    status["progress"] = f"{done}/{len(pods)}"
    if progress.message:
        status["message"] = progress.message
    status["nodes"] = {n.id: n.to_argo() for n in nodes}
    totals: dict[str, int] = {}
    for n in pods:
        for resource, amount in (n.resources or {}).items():
            totals[resource] = totals.get(resource, 0) + amount
    if totals:
        status["resourcesDuration"] = totals
    metadata: dict[str, Any] = {
        "name": identity.name, "namespace": identity.namespace, "uid": identity.uid,
        "creationTimestamp": rfc3339(identity.created), "labels": labels}
    if identity.generate_name:
        metadata["generateName"] = identity.generate_name
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": metadata, "spec": spec, "status": status}


def pod_object(node: Node, *, workflow: str, namespace: str, uid: str, host: str,
               container: Mapping[str, Any], phase: str, exit_code: int | None,
               times: tuple[float, float] | None) -> dict[str, Any]:
    """The Pod object of a Pod node: labels, annotations and the `main` container's state.

    `exit_code` and `times` (started, finished) are None while the process runs.
    """
    image = str(container.get("image", ""))
    main: dict[str, Any] = {"name": "main", "ready": phase == "Running", "restartCount": 0,
                            "image": image}
    if exit_code is None:
        main["state"] = {"running": {"startedAt": rfc3339(node.started)}}
    else:
        started, finished = times or (node.started, node.finished)
        main["state"] = {"terminated": {
            "exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
            "startedAt": rfc3339(started), "finishedAt": rfc3339(finished)}}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": node.pod, "namespace": namespace, "uid": uid,
            "creationTimestamp": rfc3339(node.started),
            "labels": {WORKFLOW_LABEL: workflow,
                       "workflows.argoproj.io/completed": "false" if exit_code is None else "true"},
            "annotations": {NODE_ID_ANNOTATION: node.id, NODE_NAME_ANNOTATION: node.name}},
        "spec": {"nodeName": host, "containers": [
            {"name": "main", "image": image, "resources": container.get("resources") or {}}]},
        "status": {"phase": phase, "startTime": rfc3339(node.started),
                   "containerStatuses": [main]},
    }


def write_json(path: Path, obj: Any) -> None:
    """Write `obj` as JSON to `path` atomically: readers see the old or the new file, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(obj, stream, indent=1, sort_keys=False)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
