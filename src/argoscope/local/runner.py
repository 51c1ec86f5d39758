"""The local runner: executes a Workflow's DAG on this machine and records it as Argo would.

Tasks run as local processes (the image is not pulled), independent tasks in parallel up to a
limit, and every change is written to `DIR/workflows/<name>.json` with an Argo-shaped status,
so the exporter reads a local run exactly like a cluster's.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argoscope.local.dag import run_dag
from argoscope.local.manifest import Manifest, ManifestError
from argoscope.local.params import (
    ParameterError,
    as_text,
    substitute,
    substitute_all,
)
from argoscope.local.paths import PATH_MAP_ENV, PathMap
from argoscope.local.process import ProcessGroup, ProcessResult
from argoscope.local.progress import Reporter, SilentReporter
from argoscope.local.status import (
    PODS_DIR,
    RUNS_DIR,
    WORKFLOWS_DIR,
    Node,
    node_id,
    pod_name,
    pod_object,
    rfc3339,
    write_json,
)

DEFAULT_NAMESPACE = "argo-local"
FAILED = frozenset({"Failed", "Error"})
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_RESULT_LIMIT = 256 * 1024


@dataclass
class RunOptions:
    """How to run: where state goes, parameters, limits."""

    state_dir: Path
    parameters: dict[str, str] = field(default_factory=dict)
    parallelism: int | None = None
    namespace: str = DEFAULT_NAMESPACE
    name: str | None = None


def parse_duration(value: Any) -> float:
    """A Go duration (`500ms`, `1m30s`) or a number of seconds, in seconds."""
    text = str(value).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise ValueError(f"bad duration {value!r}")
    scale = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(amount) * scale[unit] for amount, unit in parts)


class LocalRun:
    """One run of a manifest. Create, then call `run()`; it returns the workflow phase."""

    def __init__(self, manifest: Manifest, options: RunOptions,
                 reporter: Reporter | None = None) -> None:
        self.manifest = manifest
        self.options = options
        self.reporter: Reporter = reporter or SilentReporter()
        self.state_dir = options.state_dir
        self.lock = threading.RLock()
        self.nodes: dict[str, Node] = {}
        self.processes = ProcessGroup()
        self.uid = str(uuid.uuid4())
        self.created = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self.phase = "Pending"
        self.message = ""
        self.name = self._choose_name()
        self.run_dir = self.state_dir / RUNS_DIR / self.name
        self.workflow_path = self.state_dir / WORKFLOWS_DIR / f"{self.name}.json"
        self.parameters = self._workflow_parameters()
        limit = options.parallelism or manifest.spec.get("parallelism") or (os.cpu_count() or 2)
        self.slots = threading.Semaphore(max(1, int(limit)))
        self.global_scope = {
            "workflow.name": self.name,
            "workflow.namespace": options.namespace,
            "workflow.uid": self.uid,
            "workflow.creationTimestamp": rfc3339(self.created) or "",
            "workflow.parameters": json.dumps(
                [{"name": k, "value": v} for k, v in self.parameters.items()]),
            **{f"workflow.parameters.{k}": v for k, v in self.parameters.items()},
        }
        self.host = socket.gethostname()

    # --- identity and parameters ----------------------------------------------------------

    def _choose_name(self) -> str:
        meta = self.manifest.metadata
        # A WorkflowTemplate's own name is the template's: each run gets `<template>-xxxxx`.
        own_name = None if self.manifest.kind == "WorkflowTemplate" else meta.get("name")
        fixed = self.options.name or own_name
        folder = self.state_dir / WORKFLOWS_DIR
        if fixed:
            if (folder / f"{fixed}.json").exists():
                raise ManifestError(f"workflow {fixed!r} already exists in {folder}: remove it, "
                                    "or use metadata.generateName")
            return str(fixed)
        prefix = meta.get("generateName") or f"{self.manifest.template_name or 'workflow'}-"
        while True:
            name = prefix + "".join(random.choice(_NAME_ALPHABET) for _ in range(5))
            if not (folder / f"{name}.json").exists():
                return str(name)

    def _workflow_parameters(self) -> dict[str, str]:
        declared = (self.manifest.spec.get("arguments") or {}).get("parameters") or []
        values: dict[str, str] = {}
        names = [str(p["name"]) for p in declared]
        unknown = sorted(set(self.options.parameters) - set(names))
        if unknown:
            raise ManifestError(f"-p {unknown[0]}: no such workflow parameter (declared: "
                                f"{', '.join(names) or 'none'})")
        for param in declared:
            name = str(param["name"])
            if name in self.options.parameters:
                value: Any = self.options.parameters[name]
            elif "value" in param:
                value = param["value"]
            elif "default" in param:
                value = param["default"]
            else:
                raise ManifestError(f"spec.arguments.parameters {name!r} has no value: "
                                    f"pass -p {name}=VALUE")
            text = as_text(value)
            enum = param.get("enum")
            if enum and text not in [as_text(e) for e in enum]:
                raise ManifestError(f"parameter {name}={text!r} is not one of "
                                    f"{[as_text(e) for e in enum]}")
            values[name] = text
        return values

    # --- state ------------------------------------------------------------------------------

    def _add_node(self, node: Node) -> Node:
        with self.lock:
            self.nodes[node.id] = node
            self.save()
        return node

    def _update(self, node: Node, **changes: Any) -> None:
        with self.lock:
            for key, value in changes.items():
                setattr(node, key, value)
            self.save()
        if "phase" in changes:
            self.reporter.node_changed(node)

    def new_node(self, name: str, display: str, node_type: str, template: str,
                 boundary: str | None, phase: str = "Running", message: str = "") -> Node:
        """Record a new node (finished at once for Skipped, Omitted and Error nodes)."""
        now = time.time()
        node = Node(id=node_id(self.name, name), name=name, display_name=display,
                    type=node_type, template_name=template, boundary_id=boundary, phase=phase,
                    started=now, message=message)
        if node.finished_phase:
            node.finished = now
        self._add_node(node)
        self.reporter.node_changed(node)
        return node

    def workflow_object(self) -> dict[str, Any]:
        """The Workflow as Argo would show it now."""
        with self.lock:
            spec = dict(self.manifest.spec)
            arguments = {"parameters": [{"name": k, "value": v} for k, v in self.parameters.items()]}
            labels = {"workflows.argoproj.io/phase": self.phase,
                      "workflows.argoproj.io/completed": "true" if self.finished else "false"}
            # The explicit pipeline identity the manifest sets, as Argo keeps a Workflow's
            # labels (argoscope's exporter reads it before any other rule).
            pipeline = (self.manifest.metadata.get("labels") or {}).get("argoscope.io/pipeline")
            if pipeline:
                labels["argoscope.io/pipeline"] = str(pipeline)
            status: dict[str, Any] = {"phase": self.phase,
                                      "startedAt": rfc3339(self.started),
                                      "finishedAt": rfc3339(self.finished)}
            if self.manifest.template_name:
                labels["workflows.argoproj.io/workflow-template"] = self.manifest.template_name
                spec = {"workflowTemplateRef": {"name": self.manifest.template_name},
                        "arguments": arguments}
                status["storedWorkflowTemplateSpec"] = {**self.manifest.spec,
                                                        "arguments": arguments}
            else:
                spec["arguments"] = arguments
            pods = [n for n in self.nodes.values() if n.type == "Pod"]
            done = sum(1 for n in pods if n.finished_phase)
            status["progress"] = f"{done}/{len(pods)}"
            if self.message:
                status["message"] = self.message
            status["nodes"] = {n.id: n.to_argo() for n in self.nodes.values()}
            totals: dict[str, int] = {}
            for n in pods:
                for resource, amount in (n.resources or {}).items():
                    totals[resource] = totals.get(resource, 0) + amount
            if totals:
                status["resourcesDuration"] = totals
            metadata: dict[str, Any] = {
                "name": self.name, "namespace": self.options.namespace, "uid": self.uid,
                "creationTimestamp": rfc3339(self.created), "labels": labels}
            if self.manifest.metadata.get("generateName"):
                metadata["generateName"] = self.manifest.metadata["generateName"]
            return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                    "metadata": metadata, "spec": spec, "status": status}

    def save(self) -> None:
        """Write the Workflow object to the state directory, atomically."""
        write_json(self.workflow_path, self.workflow_object())

    def _save_pod(self, node: Node, container: Mapping[str, Any], result: ProcessResult | None,
                  phase: str) -> None:
        assert node.pod is not None
        exit_code = None if result is None else (
            result.exit_code if result.exit_code is not None else 1)
        pod = pod_object(
            node, workflow=self.name, namespace=self.options.namespace,
            uid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.uid}/{node.id}")), host=self.host,
            container=container, phase=phase, exit_code=exit_code,
            times=None if result is None else (result.started, result.finished))
        write_json(self.state_dir / PODS_DIR / f"{node.pod}.json", pod)

    # --- running ----------------------------------------------------------------------------

    def run(self) -> str:
        """Run to the end; returns the workflow phase (Succeeded, Failed or Error)."""
        images = sorted({str((t.get("container") or t.get("script") or {}).get("image"))
                         for t in self.manifest.spec["templates"]
                         if (t.get("container") or t.get("script") or {}).get("image")})
        if images:
            self.reporter.note("images are not pulled: steps run as local processes on this "
                               f"machine ({', '.join(images)})")
        notes = [n for n in self.manifest.notes if not n.endswith(".image")]
        if notes:
            self.reporter.note("not enforced on this machine: " + ", ".join(notes))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.started = time.time()
        self.phase = "Running"
        self.save()
        # The run happens on a worker thread so Ctrl-C reaches this one; waiting on an Event
        # (not Thread.join, which an interrupt can leave believing the thread ended).
        done = threading.Event()

        def work() -> None:
            try:
                self._run_root()
            finally:
                done.set()

        threading.Thread(target=work, name=f"run-{self.name}", daemon=True).start()
        try:
            while not done.wait(0.2):
                pass
        except KeyboardInterrupt:
            self.message = "Stopped by user"
            self.processes.stop()
            while not done.wait(0.2):
                pass
            raise
        finally:
            self.reporter.finished(self.name, self.phase, self.message, self.workflow_path)
        return self.phase

    def _run_root(self) -> None:
        entrypoint = str(self.manifest.spec["entrypoint"])
        try:
            root = self.execute(entrypoint, self.name, self.name, None, {})
            phase = root.phase if root.phase in FAILED else "Succeeded"
            message = self.message or (self._failure_message(root) if phase in FAILED else "")
        except Exception as error:  # a runner bug must still end the run visibly
            phase, message = "Error", f"local runner error: {type(error).__name__}: {error}"
        with self.lock:
            self.phase, self.message = phase, message
            self.finished = time.time()
            self.save()

    def _failure_message(self, root: Node) -> str:
        if root.type == "Pod":
            return root.message
        with self.lock:
            for child_id in self._descendants(root):
                child = self.nodes[child_id]
                if child.boundary_id == root.id and child.phase in FAILED:
                    return f"child '{child.id}' failed"
        return root.message

    def _descendants(self, root: Node) -> list[str]:
        order = [n.id for n in self.nodes.values()]
        return [i for i in order if i != root.id]

    # --- templates --------------------------------------------------------------------------

    def execute(self, template_name: str, name: str, display: str, boundary: str | None,
                arguments: Mapping[str, str],
                on_created: Callable[[Node], None] | None = None) -> Node:
        """Run one template invocation (with its retries); returns its finished node.

        `on_created` is called with the invocation's top node as soon as it exists (a DAG
        links it to its dependencies' nodes then, so the graph shows while it runs).
        """
        created = on_created or (lambda node: None)
        template = self.manifest.template(template_name)
        kind = "DAG" if "dag" in template else "Pod"
        try:
            inputs = self._inputs(template, arguments)
        except (ParameterError, ManifestError) as error:
            node = self.new_node(name, display, kind, template_name, boundary, "Error",
                                  str(error))
            created(node)
            return node
        retry = template.get("retryStrategy")
        if retry is None:
            return self._execute_body(template, name, display, boundary, inputs, 0,
                                      on_created=created)
        return self._execute_with_retries(template, retry, name, display, boundary, inputs,
                                          created)

    def _inputs(self, template: Mapping[str, Any], arguments: Mapping[str, str]) -> dict[str, str]:
        values: dict[str, str] = {}
        for param in (template.get("inputs") or {}).get("parameters") or []:
            name = str(param["name"])
            if name in arguments:
                value = arguments[name]
            elif "value" in param:
                value = substitute(as_text(param["value"]), self.global_scope)
            elif "default" in param:
                value = substitute(as_text(param["default"]), self.global_scope)
            else:
                raise ParameterError(f"inputs.parameters.{name} was not supplied")
            enum = param.get("enum")
            if enum and value not in [as_text(e) for e in enum]:
                raise ParameterError(f"inputs.parameters.{name}={value!r} is not one of "
                                     f"{[as_text(e) for e in enum]}")
            values[name] = value
        return values

    def _execute_with_retries(self, template: Mapping[str, Any], retry: Mapping[str, Any],
                              name: str, display: str, boundary: str | None,
                              inputs: dict[str, str], created: Callable[[Node], None]) -> Node:
        retry_node = self.new_node(name, display, "Retry", "", boundary)
        created(retry_node)
        scope = {**self.global_scope, **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}
        try:
            limit_value = retry.get("limit")
            limit = None if limit_value is None else int(substitute(as_text(limit_value), scope))
            backoff = retry.get("backoff") or {}
            delay = parse_duration(substitute(as_text(backoff["duration"]), scope)) \
                if "duration" in backoff else 0.0
            factor = float(substitute(as_text(backoff.get("factor", 1)), scope))
            max_duration = parse_duration(substitute(as_text(backoff["maxDuration"]), scope)) \
                if "maxDuration" in backoff else None
        except (ValueError, ParameterError) as error:
            self.finish(retry_node, "Error", f"bad retryStrategy: {error}")
            return retry_node
        policy = str(retry.get("retryPolicy") or "OnFailure")
        retried = {"Always": FAILED, "OnFailure": frozenset({"Failed"}),
                   "OnError": frozenset({"Error"}), "OnTransientError": frozenset()}[policy]
        first_start = time.time()
        attempt = 0
        while True:
            child = self._execute_body(template, f"{name}({attempt})", f"{display}({attempt})",
                                       boundary, inputs, attempt, parent=retry_node)
            if child.phase == "Succeeded":
                self.finish(retry_node, "Succeeded", "", outputs=child.outputs,
                             result=child.result, outbound=self.outbound(child))
                return retry_node
            wait = delay * (factor ** attempt)
            message = ""
            if child.phase not in retried or self.processes.stopped:
                message = child.message
            elif limit is not None and attempt >= limit:
                message = "No more retries left"
            elif max_duration is not None and time.time() + wait - first_start > max_duration:
                message = "Max duration limit exceeded"
            if message:
                self.finish(retry_node, child.phase, message, outputs=child.outputs,
                             outbound=self.outbound(child))
                return retry_node
            time.sleep(wait)
            attempt += 1

    def finish(self, node: Node, phase: str, message: str, **changes: Any) -> None:
        """Give a node its final phase and finish time."""
        self._update(node, message=message or node.message, finished=time.time(), **changes,
                     phase=phase)

    def _execute_body(self, template: Mapping[str, Any], name: str, display: str,
                      boundary: str | None, inputs: dict[str, str], attempt: int,
                      parent: Node | None = None,
                      on_created: Callable[[Node], None] | None = None) -> Node:
        if "dag" in template:
            node = self.new_node(name, display, "DAG", str(template["name"]), boundary)
            node.inputs = inputs or None
            self._link(parent, node, on_created)
            run_dag(self, node, template, inputs)
            return node
        node = Node(id=node_id(self.name, name), name=name, display_name=display, type="Pod",
                    template_name=str(template["name"]), boundary_id=boundary,
                    phase="Pending", started=time.time(), inputs=inputs or None)
        node.pod = pod_name(self.name, str(template["name"]), name)
        self._add_node(node)
        self._link(parent, node, on_created)
        self.reporter.node_changed(node)
        self._run_pod(node, template, inputs, attempt)
        return node

    def _link(self, parent: Node | None, child: Node,
              on_created: Callable[[Node], None] | None = None) -> None:
        if on_created is not None:
            on_created(child)
        if parent is not None:
            with self.lock:
                parent.children.append(child.id)
                self.save()

    def outbound(self, node: Node) -> list[str]:
        """The nodes a dependant links from: Argo's outbound nodes of `node`."""
        with self.lock:
            if node.type in ("Pod", "Skipped"):
                return [node.id]
            if node.outbound:
                return list(node.outbound)
            if node.type == "Retry" and node.children:
                return self.outbound(self.nodes[node.children[-1]])
            if node.type == "TaskGroup" and node.children:
                return [o for c in node.children for o in self.outbound(self.nodes[c])]
            return [node.id]

    # --- pods -------------------------------------------------------------------------------

    def _run_pod(self, node: Node, template: Mapping[str, Any], inputs: dict[str, str],
                 attempt: int) -> None:
        body_key = "script" if "script" in template else "container"
        node_dir = self.run_dir / "nodes" / node.id
        paths = PathMap(node_dir / "fs")
        for mount in (template[body_key].get("volumeMounts") or []):
            local = self._volume_dir(str(mount["name"]))
            local.mkdir(parents=True, exist_ok=True)
            paths.mount(str(mount["mountPath"]), local)
        scope = {**self.global_scope, **{f"inputs.parameters.{k}": v for k, v in inputs.items()},
                 "pod.name": node.pod or "", "retries": str(attempt), "node.name": node.name}
        outputs = (template.get("outputs") or {}).get("parameters") or []
        try:
            output_paths: dict[str, Path] = {}
            for param in outputs:
                container_path = substitute(str(param["valueFrom"]["path"]), scope)
                output_paths[str(param["name"])] = paths.add_file(container_path)
                scope[f"outputs.parameters.{param['name']}.path"] = container_path
            body = substitute_all(dict(template[body_key]), scope)
        except ParameterError as error:
            self.finish(node, "Error", str(error))
            return
        body = paths.rewrite_all(body)
        node_dir.mkdir(parents=True, exist_ok=True)
        argv = [str(a) for a in (body.get("command") or [])]
        if body_key == "script":
            script = node_dir / "script"
            script.write_text(str(body.get("source", "")), encoding="utf-8")
            argv.append(str(script))
        else:
            argv += [str(a) for a in (body.get("args") or [])]
        env = dict(os.environ)
        # Steps that call `python` get this interpreter (and its virtualenv) first on PATH.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        for item in body.get("env") or []:
            env[str(item["name"])] = as_text(item.get("value", ""))
        env["ARGOSCOPE_LOCAL_NODE_DIR"] = str(node_dir)
        # The identity Argo's controller gives every step's containers, so check results,
        # logs and traces carry the same run and node locally as on a cluster.
        env["ARGO_WORKFLOW_NAME"] = str(self.global_scope.get("workflow.name", ""))
        env["ARGO_NODE_ID"] = node.id
        env["ARGO_POD_NAME"] = node.pod or ""
        env["ARGO_TEMPLATE"] = json.dumps(template)
        env[PATH_MAP_ENV] = json.dumps(paths.as_env())
        cwd = Path(body["workingDir"]) if body.get("workingDir") else node_dir
        if not cwd.is_dir():
            self.finish(node, "Error", f"workingDir {cwd} does not exist on this machine")
            return
        self.slots.acquire()
        try:
            def started(moment: float) -> None:
                self._update(node, phase="Running")
                self._save_pod(node, body, None, "Running")

            result = self.processes.run(argv, cwd, env, node_dir / "stdout.log",
                                        node_dir / "stderr.log", on_start=started)
        finally:
            self.slots.release()
        self._complete_pod(node, body, result, output_paths, outputs, node_dir)

    def _complete_pod(self, node: Node, body: Mapping[str, Any], result: ProcessResult,
                      output_paths: Mapping[str, Path], outputs: list[Any],
                      node_dir: Path) -> None:
        if result.exit_code is None:
            self._save_pod(node, body, result, "Failed")
            self.finish(node, "Error", result.error)
            return
        phase = "Succeeded" if result.exit_code == 0 else "Failed"
        message = "" if phase == "Succeeded" else f"Error (exit code {result.exit_code})"
        values: dict[str, str] = {}
        for param in outputs:
            name = str(param["name"])
            try:
                values[name] = output_paths[name].read_text(encoding="utf-8").rstrip("\n")
            except (OSError, UnicodeDecodeError) as error:
                if "default" in param["valueFrom"]:
                    values[name] = as_text(param["valueFrom"]["default"])
                elif phase == "Succeeded":
                    phase, message = "Error", (f"failed to save outputs: output parameter "
                                               f"{name!r}: {getattr(error, 'strerror', error)}: "
                                               f"{param['valueFrom']['path']}")
        stdout = (node_dir / "stdout.log").read_bytes()[-_RESULT_LIMIT:]
        self._save_pod(node, body, result, "Succeeded" if result.exit_code == 0 else "Failed")
        self._update(node, outputs=values or None,
                     result=stdout.decode("utf-8", "replace").rstrip("\n"),
                     exit_code=result.exit_code, resources=result.resources_duration(),
                     message=message, finished=result.finished, phase=phase)

    def _volume_dir(self, name: str) -> Path:
        for volume in self.manifest.spec.get("volumes") or []:
            if volume.get("name") != name:
                continue
            if "persistentVolumeClaim" in volume:
                claim = str(volume["persistentVolumeClaim"].get("claimName", name))
                return self.state_dir / "volumes" / claim
            if "hostPath" in volume:
                return Path(str(volume["hostPath"]["path"]))
        return self.run_dir / "volumes" / name
