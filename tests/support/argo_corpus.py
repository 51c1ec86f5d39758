"""Argo's own Workflow objects (`../shared/fixtures/argo-corpus/`), their Pods derived by Argo's
naming rules, and the re-encodings the exporter's invariants are held under.

Pods: Argo names a node's pod by its node id (`POD_NAMES=v1`) or `<run>-<template>-<fnv32a of
the node's name>` (v2, the default since v3.2; the entrypoint's pod is the run's own name),
with the `workflows.argoproj.io/node-id` and `node-name` annotations and the workflow label
(workflow/util/pod_name.go, workflow/controller/workflowpod.go). Their state follows the node:
a Pending node's pod waits, a Running one runs, a finished one has terminated (OOMKilled when
the node says so, DeadlineExceeded as the pod's reason when the node hit a deadline).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from argoscope.exporter.objects import encode_nodes
from argoscope.exporter.sources.file import read_objects

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "argo-corpus"
Obj = dict[str, Any]


def fnv32a(text: str) -> int:
    """Go's hash/fnv New32a over UTF-8 bytes, as Argo hashes node names."""
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


@cache
def corpus_workflows() -> tuple[str, ...]:
    """Every corpus Workflow with a node map, one per (namespace, name) (the first by file
    name: the corpus keeps several historical versions of some), as JSON text."""
    seen: set[tuple[str, str]] = set()
    found: list[str] = []
    for path in sorted((CORPUS / "objects").iterdir()):
        for obj in read_objects(path):
            if not isinstance(obj, dict) or obj.get("kind", "Workflow") != "Workflow":
                continue
            meta = obj.get("metadata") or {}
            nodes = (obj.get("status") or {}).get("nodes")
            key = (str(meta.get("namespace") or "default"), str(meta.get("name") or ""))
            if not key[1] or not isinstance(nodes, dict) or not nodes or key in seen:
                continue
            seen.add(key)
            obj.setdefault("kind", "Workflow")
            found.append(json.dumps(obj, default=str))  # YAML datetimes as text
    return tuple(found)


def workflow(index: int) -> Obj:
    """A fresh copy of corpus Workflow `index`."""
    return json.loads(corpus_workflows()[index])


def _time(value: Any, offset: float) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_name(run: str, node: Mapping[str, Any], node_id: str, version: str) -> str:
    """The pod Argo creates for a node, by `POD_NAMES` version."""
    name = str(node.get("name") or node_id)
    if version == "v1":
        return node_id
    if name == run:
        return run
    template = str(node.get("templateName") or "")
    prefix = f"{run}-{template}" if template else run
    return f"{prefix[:253 - 10 - 1]}-{fnv32a(name)}"


def derive_pods(wf: Mapping[str, Any], version: str = "v2") -> list[Obj]:
    """The Pods of a Workflow's Pod nodes, named by Argo's rule, in the state their node says."""
    meta = wf["metadata"]
    run = str(meta["name"])
    namespace = meta.get("namespace") or "default"
    pods = []
    for node_id, node in (wf.get("status") or {}).get("nodes", {}).items():
        if not isinstance(node, dict) or node.get("type") != "Pod" or not node.get("name"):
            continue
        phase = str(node.get("phase") or "Pending")
        message = str(node.get("message") or "")
        # The main container starts 0..119 s after its node (scheduling, image pull).
        started = _time(node.get("startedAt"), fnv32a(str(node["name"])) % 120)
        main: Obj = {"name": "main", "state": {}}
        status: Obj = {"containerStatuses": [main]}
        if phase == "Pending" or started is None:
            status["phase"] = "Pending"
            waiting = message.split(":")[0].strip() if message else ""
            main["state"]["waiting"] = {"reason": waiting if waiting.isalpha()
                                        else "ContainerCreating"}
        elif phase == "Running":
            status["phase"] = "Running"
            main["state"]["running"] = {"startedAt": started}
        else:
            failed = phase in ("Failed", "Error")
            oom = "OOMKilled" in message
            status["phase"] = "Failed" if failed else "Succeeded"
            if failed and "deadline" in message.lower():
                status["reason"] = "DeadlineExceeded"
            main["state"]["terminated"] = {
                "startedAt": started,
                "reason": ("OOMKilled" if oom else "Error") if failed else "Completed",
                "exitCode": (137 if oom else 1) if failed else 0}
        pods.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": pod_name(run, node, node_id, version), "namespace": namespace,
                "labels": {"workflows.argoproj.io/workflow": run},
                "annotations": {"workflows.argoproj.io/node-id": node_id,
                                "workflows.argoproj.io/node-name": node["name"]}},
            "spec": {"nodeName": "node-1", "containers": [{"name": "wait"}, {"name": "main"}]},
            "status": status,
        })
    return pods


def with_checks(wf: Obj) -> Obj:
    """The same Workflow whose finished Pod nodes report an `argoscope-checks` document, as a
    step using `argoscope.checks` does: a gate whose value varies per node (now and then one
    beyond a float's range) and a drift score, under the same check names in every run."""
    wf = copy.deepcopy(wf)
    for node_id, node in wf["status"]["nodes"].items():
        if not isinstance(node, dict) or node.get("type") != "Pod" or node.get("phase") not in (
                "Succeeded", "Failed"):
            continue
        seed = fnv32a(node_id)
        value: float = seed % 1000 / 10 if seed % 7 else 10**400
        document = {"schema": "argoscope.checks/v1", "results": [
            {"check": "rows", "kind": "gate", "status": "passed" if seed % 3 else "failed",
             "value": value, "threshold": 50.0, "op": ">"},
            {"check": "input_drift", "kind": "drift", "status": "passed", "value": 0.1,
             "features": [{"feature": "age", "score": seed % 97 / 100}]}]}
        outputs = node.setdefault("outputs", {})
        if isinstance(outputs, dict):
            outputs.setdefault("parameters", []).append(
                {"name": "argoscope-checks", "value": json.dumps(document)})
    return wf


def earlier(obj: Obj) -> Obj:
    """The same Workflow or Pod as a watch showed it before it finished: the run Running, its
    finished nodes Running without outputs, a finished pod Running."""
    obj = copy.deepcopy(obj)
    status = obj.get("status") or {}
    if obj.get("kind") == "Pod":
        main = status["containerStatuses"][0]["state"]
        if "terminated" in main:
            status["phase"] = "Running"
            status.pop("reason", None)
            main["running"] = {"startedAt": main.pop("terminated")["startedAt"]}
        return obj
    status["phase"] = "Running"
    status.pop("finishedAt", None)
    for node in status.get("nodes", {}).values():
        if isinstance(node, dict) and node.get("phase") in (
                "Succeeded", "Failed", "Error", "Skipped", "Omitted"):
            node["phase"] = "Running"
            for key in ("finishedAt", "outputs", "message", "resourcesDuration"):
                node.pop(key, None)
    return obj


# --- re-encodings --------------------------------------------------------------------------

def compressed(wf: Obj) -> Obj:
    """The same Workflow with its nodes in `status.compressedNodes`, as Argo writes them."""
    wf = copy.deepcopy(wf)
    wf["status"]["compressedNodes"] = encode_nodes(wf["status"].pop("nodes"))
    return wf


def offloaded(wf: Obj) -> Obj:
    """The same Workflow with its nodes offloaded to Argo's database, as a watch shows it."""
    wf = copy.deepcopy(wf)
    del wf["status"]["nodes"]
    wf["status"]["offloadNodeStatusVersion"] = "fnv:1234567890"
    return wf


DisplayName = Callable[[str, Mapping[str, Any]], str]
# What a template's `workflows.argoproj.io/display-name` annotation makes of a node's display
# name: per item, with the run's name, with dots and parentheses, or plain noise.
DISPLAY_NAMES: tuple[DisplayName, ...] = (
    lambda run, node: f"os-{fnv32a(str(node.get('id'))) % 7}",
    lambda run, node: f"{run}-{node.get('templateName') or 'x'}",
    lambda run, node: f"{run}.{node.get('displayName')}(0:a.b)",
    lambda run, node: "Train the model (v1.2) [gpu]",
    lambda run, node: f"{node.get('displayName')}.onExit",
)


def with_display_names(wf: Obj, style: DisplayName) -> Obj:
    """The same Workflow with every node's displayName as a display-name annotation sets it."""
    wf = copy.deepcopy(wf)
    run = wf["metadata"]["name"]
    for node in wf["status"]["nodes"].values():
        if isinstance(node, dict):
            node["displayName"] = style(run, node)
    return wf


_ITEM = re.compile(r"\((\d+):[^()]*\)")


def with_items(objects: Iterable[Obj], item: str) -> list[Obj]:
    """Runs and pods as if every fan-out item had been `item`: `task(2:one)` in node names
    and in pods' node-name annotations becomes `task(2:<item>)` (node ids are kept: Argo
    hashes them)."""
    def spell(name: str) -> str:
        return _ITEM.sub(lambda found: f"({found.group(1)}:{item})", name)

    out = []
    for obj in objects:
        obj = copy.deepcopy(obj)
        if obj.get("kind") == "Pod":
            annotations = obj["metadata"]["annotations"]
            key = "workflows.argoproj.io/node-name"
            annotations[key] = spell(annotations[key])
        else:
            for node in (obj.get("status") or {}).get("nodes", {}).values():
                if isinstance(node, dict) and isinstance(node.get("name"), str):
                    node["name"] = spell(node["name"])
        out.append(obj)
    return out


def _rename_text(value: str, old: str, new: str) -> str:
    if value == old:
        return new
    if value.startswith(old) and value[len(old):len(old) + 1] in (".", "-", "[", "("):
        return new + value[len(old):]
    return value


def renamed(objects: Iterable[Obj], old: str, new: str) -> list[Obj]:
    """A run and its pods as if Argo had named the run `new`: its name, and every node id,
    node name, boundary, child and pod name derived from it."""
    out = []
    for obj in objects:
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        if obj.get("kind") == "Pod":
            meta["labels"]["workflows.argoproj.io/workflow"] = new
            meta["name"] = _rename_text(meta["name"], old, new)
            for key, value in meta["annotations"].items():
                meta["annotations"][key] = _rename_text(value, old, new)
        else:
            meta["name"] = new
            meta.pop("uid", None)
            nodes = {}
            for node_id, node in obj["status"].get("nodes", {}).items():
                if isinstance(node, dict):
                    for key in ("id", "name", "boundaryID"):
                        if isinstance(node.get(key), str):
                            node[key] = _rename_text(node[key], old, new)
                    if isinstance(node.get("children"), list):
                        node["children"] = [_rename_text(c, old, new) if isinstance(c, str)
                                            else c for c in node["children"]]
                nodes[_rename_text(node_id, old, new)] = node
            if "nodes" in obj["status"]:
                obj["status"]["nodes"] = nodes
        out.append(obj)
    return out
