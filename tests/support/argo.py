"""Builders for Argo-shaped Workflow and Pod objects, as the controller writes them."""

from __future__ import annotations

import itertools
from datetime import UTC
from typing import Any

_ids = itertools.count(1000)


def ts(seconds: float) -> str:
    """An RFC 3339 timestamp `seconds` after 2026-01-01T00:00:00Z."""
    from datetime import datetime, timedelta

    base = datetime(2026, 1, 1, tzinfo=UTC)
    return (base + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


T0 = 1767225600.0  # 2026-01-01T00:00:00Z as Unix seconds


def node(wf: str, display: str, *, type: str = "Pod", phase: str = "Succeeded",
         start: float | None = 0, finish: float | None = 10, template: str | None = None,
         message: str | None = None, node_id: str | None = None,
         children: list[str] | None = None, outputs: dict[str, Any] | None = None,
         resources: dict[str, int] | None = None) -> tuple[str, dict[str, Any]]:
    """One status.nodes entry (id, node) for a node of workflow `wf`."""
    nid = node_id or f"{wf}-{next(_ids)}"
    body: dict[str, Any] = {
        "id": nid, "name": f"{wf}.{display}", "displayName": display, "type": type,
        "phase": phase, "boundaryID": wf,
    }
    if template is not None:
        body["templateName"] = template
    elif type == "Pod":
        body["templateName"] = display.split("(")[0]
    if start is not None:
        body["startedAt"] = ts(start)
    if finish is not None and phase not in ("Running", "Pending"):
        body["finishedAt"] = ts(finish)
    if message is not None:
        body["message"] = message
    if children is not None:
        body["children"] = children
    if outputs is not None:
        body["outputs"] = outputs
    if resources is not None:
        body["resourcesDuration"] = resources
    return nid, body


def workflow(name: str, nodes: list[tuple[str, dict[str, Any]]] | None = None, *,
             phase: str = "Succeeded", namespace: str = "ml", start: float = 0,
             finish: float | None = 100, template_ref: str | None = "train",
             uid: str | None = None, labels: dict[str, str] | None = None,
             resource_version: str = "1") -> dict[str, Any]:
    """A Workflow object with status; `template_ref` sets spec.workflowTemplateRef."""
    spec: dict[str, Any] = {"entrypoint": "main"}
    if template_ref:
        spec["workflowTemplateRef"] = {"name": template_ref}
    status: dict[str, Any] = {"phase": phase, "startedAt": ts(start)}
    if finish is not None and phase in ("Succeeded", "Failed", "Error"):
        status["finishedAt"] = ts(finish)
    node_map = {wf_root: body for wf_root, body in (nodes or [])}
    node_map[name] = {"id": name, "name": name, "displayName": name, "type": "DAG",
                      "phase": phase, "startedAt": ts(start), "children": list(node_map)}
    status["nodes"] = node_map
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": name, "namespace": namespace, "uid": uid or f"uid-{name}",
                     "resourceVersion": resource_version,
                     "creationTimestamp": ts(start), "labels": labels or {}},
        "spec": spec, "status": status,
    }


def pod(wf: str, node_id: str, *, namespace: str = "ml", phase: str = "Running",
        main_started: float | None = None, terminated: dict[str, Any] | None = None,
        waiting: str | None = None, reason: str | None = None,
        unschedulable: str | None = None, gpus: int = 0, host: str = "node-1",
        name: str | None = None, node_name: str | None = None) -> dict[str, Any]:
    """A step pod as Argo creates it (labels and annotations), with a `main` container."""
    main: dict[str, Any] = {"name": "main", "state": {}}
    if terminated is not None:
        main["state"]["terminated"] = terminated
    elif waiting is not None:
        main["state"]["waiting"] = {"reason": waiting}
    elif main_started is not None:
        main["state"]["running"] = {"startedAt": ts(main_started)}
    status: dict[str, Any] = {"phase": phase, "containerStatuses": [main]}
    if reason:
        status["reason"] = reason
    if unschedulable is not None:
        status["conditions"] = [{"type": "PodScheduled", "status": "False",
                                 "reason": "Unschedulable", "message": unschedulable}]
        status["containerStatuses"] = []
    resources = {"limits": {"nvidia.com/gpu": str(gpus)}} if gpus else {}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name or node_id, "namespace": namespace,
                     "labels": {"workflows.argoproj.io/workflow": wf},
                     "annotations": {"workflows.argoproj.io/node-id": node_id,
                                     "workflows.argoproj.io/node-name":
                                         node_name or f"{wf}.step"}},
        "spec": {"nodeName": host,
                 "containers": [{"name": "wait"}, {"name": "main", "resources": resources}]},
        "status": status,
    }
