"""The local runner: executes a Workflow's DAG on this machine and records it as Argo would.

Tasks run as local processes (the image is not pulled), independent tasks in parallel up to a
limit, and every change is written to `DIR/workflows/<name>.json` with an Argo-shaped status,
so the exporter reads a local run exactly like a cluster's.

This module names the run, reads its parameters and drives it; the templates are run by
`executor` over the node graph (`graph`). The layers are drawn in docs/architecture.md.
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argoscope.local.executor import TemplateExecutor
from argoscope.local.graph import NodeGraph
from argoscope.local.manifest import Manifest, ManifestError
from argoscope.local.names import (
    OutsideStateDir,
    generate_name_problem,
    inside,
    namespace_problem,
    workflow_name_problem,
)
from argoscope.local.params import as_text
from argoscope.local.pods import PodPlace, PodRunner
from argoscope.local.process import ProcessGroup
from argoscope.local.progress import Reporter, SilentReporter
from argoscope.local.status import (
    FAILED,
    PIPELINE_LABEL,
    RUNS_DIR,
    STOPPED_MESSAGE,
    WORKFLOWS_DIR,
    WorkflowIdentity,
    rfc3339,
)

DEFAULT_NAMESPACE = "argo-local"
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass
class RunOptions:
    """How to run: where state goes, parameters, limits."""

    state_dir: Path
    parameters: dict[str, str] = field(default_factory=dict)
    parallelism: int | None = None
    namespace: str = DEFAULT_NAMESPACE
    name: str | None = None


class LocalRun:
    """One run of a manifest. Create, then call `run()`; it returns the workflow phase."""

    def __init__(self, manifest: Manifest, options: RunOptions,
                 reporter: Reporter | None = None) -> None:
        self.manifest = manifest
        self.options = options
        self.reporter: Reporter = reporter or SilentReporter()
        # Absolute: steps run in their own working directories, where a relative state
        # directory (the default `.argoscope`) would point somewhere else.
        self.state_dir = options.state_dir.absolute()
        problem = namespace_problem(options.namespace)
        if problem is not None:
            raise ManifestError(problem)
        self.processes = ProcessGroup()
        self.uid = str(uuid.uuid4())
        self.created = time.time()
        self.name = self._choose_name()
        try:  # the name is valid already; this holds every other rule to the boundary too
            self.run_dir = self.state_dir / RUNS_DIR / self.name
            self.workflow_path = self.state_dir / WORKFLOWS_DIR / f"{self.name}.json"
            inside(self.state_dir, self.run_dir)
            inside(self.state_dir, self.workflow_path)
        except OutsideStateDir as error:
            raise ManifestError(str(error)) from error
        self.parameters = self._workflow_parameters()
        global_scope = {
            "workflow.name": self.name,
            "workflow.namespace": options.namespace,
            "workflow.uid": self.uid,
            "workflow.creationTimestamp": rfc3339(self.created) or "",
            "workflow.parameters": json.dumps(
                [{"name": k, "value": v} for k, v in self.parameters.items()]),
            **{f"workflow.parameters.{k}": v for k, v in self.parameters.items()},
        }
        identity = WorkflowIdentity(
            name=self.name, namespace=options.namespace, uid=self.uid, created=self.created,
            spec=manifest.spec, parameters=self.parameters,
            template_name=manifest.template_name,
            generate_name=manifest.metadata.get("generateName") or None,
            pipeline=str((manifest.metadata.get("labels") or {}).get(PIPELINE_LABEL) or "") or None)
        self.graph = NodeGraph(identity, self.workflow_path, self.reporter)
        limit = options.parallelism or manifest.spec.get("parallelism") or (os.cpu_count() or 2)
        place = PodPlace(state_dir=self.state_dir, run_dir=self.run_dir,
                         volumes=list(manifest.spec.get("volumes") or []),
                         host=socket.gethostname())
        pods = PodRunner(self.graph, place, global_scope, self.processes,
                         threading.Semaphore(max(1, int(limit))))
        self.executor = TemplateExecutor(manifest, self.graph, pods, global_scope)

    # --- identity and parameters ----------------------------------------------------------

    def _choose_name(self) -> str:
        meta = self.manifest.metadata
        # A WorkflowTemplate's own name is the template's: each run gets `<template>-xxxxx`.
        own_name = None if self.manifest.kind == "WorkflowTemplate" else meta.get("name")
        fixed = self.options.name or own_name
        folder = self.state_dir / WORKFLOWS_DIR
        if fixed:
            problem = workflow_name_problem(str(fixed))
            if problem is not None:
                raise ManifestError(f"metadata.name: {problem}")
            if (folder / f"{fixed}.json").exists():
                raise ManifestError(f"workflow {fixed!r} already exists in {folder}: remove it, "
                                    "or use metadata.generateName")
            return str(fixed)
        prefix = str(meta.get("generateName") or f"{self.manifest.template_name or 'workflow'}-")
        problem = generate_name_problem(prefix)
        if problem is not None:
            raise ManifestError(f"metadata.generateName: {problem}")
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

    # --- the run ----------------------------------------------------------------------------

    @property
    def phase(self) -> str:
        """The workflow phase: Pending, Running, then Succeeded, Failed or Error."""
        return self.graph.phase

    @property
    def message(self) -> str:
        """The workflow message (why it failed, or that it was stopped)."""
        return self.graph.message

    @message.setter
    def message(self, value: str) -> None:
        # Set before `processes.stop()` by whoever stops the run (Ctrl-C, the demo).
        self.graph.message = value

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
        self.graph.start()
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
            self.message = STOPPED_MESSAGE
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
            root = self.executor.execute(entrypoint, self.name, self.name, None, {})
            phase = root.phase if root.phase in FAILED else "Succeeded"
            message = self.message or (
                self.graph.failure_message(root) if phase in FAILED else "")
        except Exception as error:  # a runner bug must still end the run visibly
            phase, message = "Error", f"local runner error: {type(error).__name__}: {error}"
        self.graph.end(phase, message)
