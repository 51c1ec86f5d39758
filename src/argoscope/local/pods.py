"""Pod nodes: a container or script template run as a local process, recorded as a Pod.

The step's paths are mapped into a per-node directory (or its volumes'), its `{{...}}`
references filled in, and its process run under the run's parallelism limit; the node and
its Pod object (`DIR/pods/<pod>.json`) follow the process from start to exit code, outputs
and resources used.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from argoscope.local.graph import NodeGraph
from argoscope.local.names import OutsideStateDir, inside, printable
from argoscope.local.params import ParameterError, as_text, substitute, substitute_all
from argoscope.local.paths import PATH_MAP_ENV, PathMap
from argoscope.local.process import ProcessGroup, ProcessResult
from argoscope.local.status import PODS_DIR, STOPPED_MESSAGE, Node, pod_object, write_json
from argoscope.local.stepfiles import OUTPUT_LIMIT, output_too_large, read_output, read_tail_text

# What shlex.quote leaves unquoted: a path of these characters reads the same in any shell.
_SHELL_SAFE = re.compile(r"[\w@%+=:,./-]+", re.ASCII)
# An argument that is one path, maybe after `--flag=`: the process gets it unparsed.
_WHOLE_PATH = re.compile(r"(?:--?[\w-]+=)?/[^\s'\"`$;&|<>()]*")


@dataclass(frozen=True, slots=True)
class PodCommand:
    """A pod node made ready to run: the process to start and where its outputs land."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    body: Mapping[str, Any]
    node_dir: Path
    outputs: list[Any]
    output_paths: Mapping[str, Path]


@dataclass(frozen=True, slots=True)
class PodPlace:
    """Where a run's pods live on this machine and whose they are."""

    state_dir: Path
    run_dir: Path
    volumes: list[Mapping[str, Any]]
    host: str


class PodRunner:
    """Runs Pod nodes as processes of `processes`, at most `slots` at once."""

    def __init__(self, graph: NodeGraph, place: PodPlace, global_scope: Mapping[str, str],
                 processes: ProcessGroup, slots: threading.Semaphore) -> None:
        self.graph = graph
        self.place = place
        self.global_scope = global_scope
        self.processes = processes
        self.slots = slots

    @property
    def stopped(self) -> bool:
        """Whether the run was stopped (Ctrl-C): no process starts any more."""
        return self.processes.stopped

    def run(self, node: Node, template: Mapping[str, Any], inputs: dict[str, str],
            attempt: int) -> None:
        """Run the pod node to its final phase (Error when its command cannot be prepared)."""
        command = self._prepare(node, template, inputs, attempt)
        if isinstance(command, str):
            self.graph.finish(node, "Error", command)
            return
        self.slots.acquire()
        try:
            def started(moment: float) -> None:
                self.graph.update(node, phase="Running")
                self._save_pod(node, command.body, None, "Running")

            result = self.processes.run(command.argv, command.cwd, command.env,
                                        command.node_dir / "stdout.log",
                                        command.node_dir / "stderr.log", on_start=started)
        finally:
            self.slots.release()
        self._complete(node, command, result)

    def _prepare(self, node: Node, template: Mapping[str, Any], inputs: dict[str, str],
                 attempt: int) -> PodCommand | str:
        """The command to run, or why it cannot run (the node's Error message)."""
        body_key = "script" if "script" in template else "container"
        node_dir = self.place.run_dir / "nodes" / node.id
        paths = PathMap(node_dir / "fs")
        for mount in (template[body_key].get("volumeMounts") or []):
            local = self._volume_dir(str(mount["name"]))
            paths.mount(str(mount["mountPath"]), local)
            problem = self._unsafe_path(paths, [], {}, body_key)
            if problem is not None:  # before anything is created for it
                return problem
            local.mkdir(parents=True, exist_ok=True)
        scope = {**self.global_scope, **{f"inputs.parameters.{k}": v for k, v in inputs.items()},
                 "pod.name": node.pod or "", "retries": str(attempt), "node.name": node.name}
        outputs = (template.get("outputs") or {}).get("parameters") or []
        try:
            output_paths: dict[str, Path] = {}
            for param in outputs:
                container_path = substitute(str(param["valueFrom"]["path"]), scope)
                problem = self._unsafe_path(paths, [paths.resolve(container_path)], {}, body_key)
                if problem is not None:  # before its directory is created
                    return problem
                output_paths[str(param["name"])] = paths.add_file(container_path)
                scope[f"outputs.parameters.{param['name']}.path"] = container_path
            for artifact in (template.get("outputs") or {}).get("artifacts") or []:
                # Kept with the step's logs: `<node dir>/<file name>` beside stderr.log.
                container_path = substitute(str(artifact["path"]), scope)
                paths.mount(container_path, node_dir / PurePosixPath(container_path).name)
            body = substitute_all(dict(template[body_key]), scope)
        except ParameterError as error:
            return str(error)
        written = [*output_paths.values(), node_dir,
                   self.place.state_dir / PODS_DIR / f"{node.pod or node.id}.json"]
        problem = self._unsafe_path(paths, written, body, body_key)
        if problem is not None:
            return problem
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
            return f"workingDir {cwd} does not exist on this machine"
        return PodCommand(argv, env, cwd, body, node_dir, outputs, output_paths)

    def _complete(self, node: Node, command: PodCommand, result: ProcessResult) -> None:
        """Record how the process ended: phase, message, outputs, result and resources."""
        if result.exit_code is None:
            self._save_pod(node, command.body, result, "Failed")
            # Not started because Ctrl-C stopped the run: stopped, not an error of the step.
            self.graph.finish(node, "Error", STOPPED_MESSAGE if self.processes.stopped
                              else result.error)
            return
        phase = "Succeeded" if result.exit_code == 0 else "Failed"
        message = "" if phase == "Succeeded" else f"Error (exit code {result.exit_code})"
        if phase == "Failed" and self.processes.stopped:
            # The runner's own SIGTERM (Ctrl-C) ended it: not a failure of the step's code.
            message = STOPPED_MESSAGE
        values: dict[str, str] = {}
        cut: list[str] = []
        for param in command.outputs:
            name = str(param["name"])
            try:
                saved = read_output(command.output_paths[name])
            except (OSError, UnicodeDecodeError) as error:
                if "default" in param["valueFrom"]:
                    values[name] = as_text(param["valueFrom"]["default"])
                elif phase == "Succeeded":
                    phase, message = "Error", (f"failed to save outputs: output parameter "
                                               f"{name!r}: {getattr(error, 'strerror', error)}: "
                                               f"{param['valueFrom']['path']}")
                continue
            values[name] = saved.value
            if saved.cut:
                cut.append(output_too_large(f"output parameter {name!r}"))
        # Said on the node, after why it failed when it did: a cut value is not the whole one.
        message = "; ".join(part for part in (message, *cut) if part)
        try:
            stdout = read_tail_text(command.node_dir / "stdout.log", OUTPUT_LIMIT)
        except OSError:
            stdout = ""
        self._save_pod(node, command.body, result,
                       "Succeeded" if result.exit_code == 0 else "Failed")
        self.graph.update(node, outputs=values or None, result=stdout.rstrip("\n"),
                          exit_code=result.exit_code, resources=result.resources_duration(),
                          message=message, finished=result.finished, phase=phase)

    def _save_pod(self, node: Node, container: Mapping[str, Any], result: ProcessResult | None,
                  phase: str) -> None:
        assert node.pod is not None
        identity = self.graph.identity
        exit_code = None if result is None else (
            result.exit_code if result.exit_code is not None else 1)
        pod = pod_object(
            node, workflow=identity.name, namespace=identity.namespace,
            uid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{identity.uid}/{node.id}")),
            host=self.place.host, container=container, phase=phase, exit_code=exit_code,
            times=None if result is None else (result.started, result.finished))
        write_json(self.place.state_dir / PODS_DIR / f"{node.pod}.json", pod)

    def _unsafe_path(self, paths: PathMap, outputs: Iterable[Path], body: Mapping[str, Any],
                     body_key: str) -> str | None:
        """Why this pod's paths cannot be used, or None.

        Every local path but a hostPath volume's must lie inside the state directory (an
        output path `/../../x` or a claim named `../x` must not write elsewhere), and a path
        spliced into a script's source must need no quoting there: the runner cannot know
        whether the source reads it in a shell, inside a string or elsewhere.
        """
        host_paths = [Path(str(v["hostPath"]["path"])) for v in self.place.volumes
                      if isinstance(v.get("hostPath"), Mapping) and "path" in v["hostPath"]]
        for local in [*paths.entries.values(), *outputs]:
            if any(local == h or h in local.parents for h in host_paths):
                continue
            try:
                inside(self.place.state_dir, local)
            except OutsideStateDir as error:
                return f"refused: {error}"
        # Text a program reads as code: a script's source, and any command or argument in
        # which a path is only a part (`sh -c "cp x /data/y"`). A whole argument that is the
        # path (`--data-dir /data`) goes to the process as it is and needs no quoting.
        code = [str(body.get("source", ""))] if body_key == "script" else []
        code += [str(a) for a in [*(body.get("command") or []), *(body.get("args") or [])]]
        for prefix, local in paths.entries.items():
            if prefix == "/" or _SHELL_SAFE.fullmatch(str(local)):
                continue
            if any(prefix in text and not _WHOLE_PATH.fullmatch(text) for text in code):
                return (f"refused: the local path {printable(str(local))!r} for {prefix} "
                        "would need quoting inside the step's command or source; use a "
                        "--state-dir whose path has only letters, digits and _ @ % + = : , . / -")
        return None

    def _volume_dir(self, name: str) -> Path:
        for volume in self.place.volumes:
            if volume.get("name") != name:
                continue
            if "persistentVolumeClaim" in volume:
                claim = str(volume["persistentVolumeClaim"].get("claimName", name))
                return self.place.state_dir / "volumes" / claim
            if "hostPath" in volume:
                return Path(str(volume["hostPath"]["path"]))
        return self.place.run_dir / "volumes" / name
