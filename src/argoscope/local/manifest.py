"""Loading a Workflow or WorkflowTemplate and checking that the local runner supports it.

Every field is either executed, noted as not enforced on this machine (resources, images,
scheduling: listed once at start), or refused up front with its path, such as
`spec.templates[2].steps: not supported by the local runner`. Nothing is silently ignored.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argoscope.local.depends import DependsError, depends_expression, operands
from argoscope.yamlsafe import YamlRefused, load_all

API_VERSION = "argoproj.io/v1alpha1"
KINDS = ("Workflow", "WorkflowTemplate")


class ManifestError(ValueError):
    """A manifest the local runner cannot run; the message names the file and field."""


# Per object kind: fields that are run, and fields that only matter on a cluster (noted).
_SPEC_RUN = {"entrypoint", "templates", "arguments", "volumes", "volumeClaimTemplates",
             "parallelism", "workflowTemplateRef"}
_SPEC_NOTED = {"serviceAccountName", "podGC", "ttlStrategy", "nodeSelector", "tolerations",
               "affinity", "podMetadata", "imagePullSecrets", "securityContext",
               "workflowMetadata", "priority", "podPriorityClassName", "schedulerName",
               "archiveLogs", "activeDeadlineSeconds", "automountServiceAccountToken",
               "executor", "hostNetwork", "dnsPolicy", "dnsConfig", "shutdown",
               "podDisruptionBudget", "artifactGC", "ttlSecondsAfterFinished"}
_TEMPLATE_RUN = {"name", "dag", "container", "script", "inputs", "outputs", "retryStrategy",
                 "parallelism"}
_TEMPLATE_NOTED = {"metadata", "nodeSelector", "tolerations", "affinity", "serviceAccountName",
                   "securityContext", "activeDeadlineSeconds",
                   "priorityClassName", "schedulerName", "automountServiceAccountToken",
                   "archiveLocation", "timeout"}
_CONTAINER_RUN = {"command", "args", "env", "workingDir", "volumeMounts", "name", "source"}
_CONTAINER_NOTED = {"image", "imagePullPolicy", "resources", "securityContext", "ports",
                    "readinessProbe", "livenessProbe", "terminationMessagePath",
                    "terminationMessagePolicy", "stdin", "tty"}
_TASK_RUN = {"name", "template", "dependencies", "depends", "when", "arguments", "withItems",
             "withParam"}
_RETRY_RUN = {"limit", "retryPolicy", "backoff"}
_RETRY_NOTED = {"affinity"}
_BACKOFF_RUN = {"duration", "factor", "maxDuration"}
_PARAM_RUN = {"name", "value", "default", "enum", "description"}
_OUTPUT_PARAM_RUN = {"name", "valueFrom", "description"}
_VALUE_FROM_RUN = {"path", "default"}
# Output artifacts from a file: kept beside the step's logs (no artifact repository here).
_OUTPUT_ARTIFACT_RUN = {"name", "path", "optional", "archive", "description"}
_MOUNT_RUN = {"name", "mountPath", "readOnly"}
_VOLUME_KINDS = {"emptyDir", "persistentVolumeClaim", "hostPath"}
RETRY_POLICIES = ("Always", "OnFailure", "OnError", "OnTransientError")


@dataclass
class Manifest:
    """A runnable Workflow: its spec (templates resolved), identity and what was noted."""

    spec: dict[str, Any]
    metadata: dict[str, Any]
    template_name: str | None = None
    kind: str = "Workflow"
    notes: list[str] = field(default_factory=list)

    def template(self, name: str) -> dict[str, Any]:
        """The template called `name` (its existence was checked at load)."""
        for template in self.spec["templates"]:
            if template.get("name") == name:
                return dict(template)
        raise ManifestError(f"template {name!r} not found")


def _documents(path: Path) -> list[dict[str, Any]]:
    try:
        documents = load_all(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as error:
        raise ManifestError(f"{path}: cannot be read: {error}") from error
    except YamlRefused as error:  # invalid YAML or an alias bomb
        raise ManifestError(str(error)) from error
    return [d for d in documents if isinstance(d, dict)]


def _find_template(name: str, paths: Sequence[Path]) -> dict[str, Any]:
    for path in paths:
        for document in _documents(path):
            meta = document.get("metadata") or {}
            if document.get("kind") == "WorkflowTemplate" and meta.get("name") == name:
                return document
    raise ManifestError(f"WorkflowTemplate {name!r} not found in "
                        f"{', '.join(str(p) for p in paths) or 'any file'}")


def load(path: Path, extra_files: Sequence[Path] = ()) -> Manifest:
    """Read the first Workflow or WorkflowTemplate in `path` and check it.

    A Workflow with `spec.workflowTemplateRef` is resolved against WorkflowTemplates in
    `extra_files`, then `path` itself, then every other YAML file in the same directory.
    """
    documents = [d for d in _documents(path) if d.get("kind") in KINDS]
    if not documents:
        raise ManifestError(f"{path}: no Workflow or WorkflowTemplate found")
    document = documents[0]
    if document.get("apiVersion") not in (None, API_VERSION):
        raise ManifestError(f"{path}: apiVersion {document.get('apiVersion')!r} is not "
                            f"{API_VERSION}")
    metadata = dict(document.get("metadata") or {})
    spec = copy.deepcopy(dict(document.get("spec") or {}))
    template_name: str | None = None
    if document["kind"] == "WorkflowTemplate":
        template_name = str(metadata.get("name") or "")
        if not template_name:
            raise ManifestError(f"{path}: metadata.name: a WorkflowTemplate needs a name")
        if "workflowTemplateRef" in spec:
            raise ManifestError(f"{path}: spec.workflowTemplateRef: not allowed in a "
                                "WorkflowTemplate")
    elif "workflowTemplateRef" in spec:
        ref = spec["workflowTemplateRef"] or {}
        unknown = set(ref) - {"name"}
        if unknown:
            raise ManifestError(f"{path}: spec.workflowTemplateRef.{sorted(unknown)[0]}: not "
                                "supported by the local runner")
        template_name = str(ref.get("name") or "")
        if not template_name:
            raise ManifestError(f"{path}: spec.workflowTemplateRef.name is missing")
        siblings = sorted(p for p in path.parent.iterdir()
                          if p.suffix in (".yaml", ".yml") and p != path)
        referenced = _find_template(template_name, [*extra_files, path, *siblings])
        spec = _merge_template(copy.deepcopy(dict(referenced.get("spec") or {})), spec)
    manifest = Manifest(spec=spec, metadata=metadata, template_name=template_name,
                        kind=str(document["kind"]))
    errors = check(manifest)
    if errors:
        raise ManifestError(f"{path}: not supported by the local runner:\n  "
                            + "\n  ".join(errors))
    return manifest


def _merge_template(template_spec: dict[str, Any], workflow_spec: dict[str, Any]) -> dict[str, Any]:
    """A Workflow referencing a template: its own fields and arguments override the template's."""
    merged = dict(template_spec)
    for key, value in workflow_spec.items():
        if key == "workflowTemplateRef":
            continue
        if key == "arguments":
            base = {p.get("name"): p for p in (merged.get("arguments") or {}).get("parameters") or []}
            for param in (value or {}).get("parameters") or []:
                base[param.get("name")] = {**base.get(param.get("name"), {}), **param}
            merged["arguments"] = {"parameters": list(base.values())}
        else:
            merged[key] = value
    return merged


class _Checker:
    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.errors: list[str] = []
        self.notes = manifest.notes

    def fields(self, obj: Any, path: str, run: set[str], noted: set[str] = frozenset()) -> bool:  # type: ignore[assignment]
        if not isinstance(obj, Mapping):
            self.errors.append(f"{path}: expected an object")
            return False
        for key in obj:
            if key in run:
                continue
            if key in noted:
                self.notes.append(f"{path}.{key}")
            else:
                self.errors.append(f"{path}.{key}: not supported by the local runner")
        return True

    def positive_int(self, obj: Mapping[str, Any], key: str, path: str) -> None:
        value = obj.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            self.errors.append(f"{path}.{key}: must be a whole number of at least 1")

    def params(self, params: Any, path: str, allowed: set[str]) -> None:
        if params is None:
            return
        if not isinstance(params, list):
            self.errors.append(f"{path}: expected a list")
            return
        for i, param in enumerate(params):
            if self.fields(param, f"{path}[{i}]", allowed) and not param.get("name"):
                self.errors.append(f"{path}[{i}].name is missing")

    def io(self, obj: Any, path: str, output: bool) -> None:
        if obj is None:
            return
        if not self.fields(obj, path, {"parameters", "artifacts"} if output else {"parameters"}):
            return
        allowed = _OUTPUT_PARAM_RUN if output else _PARAM_RUN
        self.params(obj.get("parameters"), f"{path}.parameters", allowed)
        for i, artifact in enumerate(obj.get("artifacts") or []):
            if self.fields(artifact, f"{path}.artifacts[{i}]", _OUTPUT_ARTIFACT_RUN) and not (
                    artifact.get("name") and artifact.get("path")):
                self.errors.append(f"{path}.artifacts[{i}]: name and path are required")
        if output:
            for i, param in enumerate(obj.get("parameters") or []):
                where = f"{path}.parameters[{i}].valueFrom"
                value_from = param.get("valueFrom") if isinstance(param, Mapping) else None
                if not isinstance(value_from, Mapping) or (
                        self.fields(value_from, where, _VALUE_FROM_RUN)
                        and not value_from.get("path")):
                    self.errors.append(f"{where}.path is required")

    def check(self) -> list[str]:
        spec = self.manifest.spec
        self.fields(spec, "spec", _SPEC_RUN, _SPEC_NOTED)
        if spec.get("arguments") is not None and self.fields(spec["arguments"], "spec.arguments",
                                                             {"parameters"}):
            self.params(spec["arguments"].get("parameters"), "spec.arguments.parameters", _PARAM_RUN)
        self.positive_int(spec, "parallelism", "spec")
        for i, volume in enumerate(spec.get("volumes") or []):
            kinds = set(volume) - {"name"} if isinstance(volume, Mapping) else set()
            if not kinds <= _VOLUME_KINDS or len(kinds) != 1:
                self.errors.append(f"spec.volumes[{i}]: only emptyDir, persistentVolumeClaim and "
                                   "hostPath volumes are supported by the local runner")
        templates = spec.get("templates")
        if not isinstance(templates, list) or not templates:
            self.errors.append("spec.templates: at least one template is required")
            return self.errors
        names = [t.get("name") for t in templates if isinstance(t, Mapping)]
        entrypoint = spec.get("entrypoint")
        if entrypoint not in names:
            self.errors.append(f"spec.entrypoint: template {entrypoint!r} not found")
        for i, template in enumerate(templates):
            self.template(template, f"spec.templates[{i}]", set(str(n) for n in names))
        return self.errors

    def template(self, template: Any, path: str, names: set[str]) -> None:
        if not self.fields(template, path, _TEMPLATE_RUN, _TEMPLATE_NOTED):
            return
        self.positive_int(template, "parallelism", path)
        bodies = [k for k in ("dag", "container", "script") if k in template]
        if len(bodies) != 1:
            if not any(e.startswith(path + ".") for e in self.errors):
                self.errors.append(f"{path}: needs exactly one of dag, container or script")
            return
        self.io(template.get("inputs"), f"{path}.inputs", output=False)
        self.io(template.get("outputs"), f"{path}.outputs", output=True)
        if "retryStrategy" in template:
            self.retry(template["retryStrategy"], f"{path}.retryStrategy")
        body = bodies[0]
        if body == "dag" and template.get("outputs"):
            self.errors.append(f"{path}.outputs: DAG template outputs are not supported by the "
                               "local runner")
        if body == "dag":
            self.dag(template["dag"], f"{path}.dag", names)
        else:
            self.container(template[body], f"{path}.{body}", script=body == "script")

    def retry(self, retry: Any, path: str) -> None:
        if not self.fields(retry, path, _RETRY_RUN, _RETRY_NOTED):
            return
        policy = retry.get("retryPolicy")
        if policy is not None and policy not in RETRY_POLICIES:
            self.errors.append(f"{path}.retryPolicy: {policy!r} is not one of "
                               f"{', '.join(RETRY_POLICIES)}")
        if retry.get("backoff") is not None:
            self.fields(retry["backoff"], f"{path}.backoff", _BACKOFF_RUN)

    def container(self, container: Any, path: str, script: bool) -> None:
        allowed = _CONTAINER_RUN if script else _CONTAINER_RUN - {"source"}
        if not self.fields(container, path, allowed, _CONTAINER_NOTED):
            return
        if not container.get("command") and not (container.get("args") and not script):
            self.errors.append(f"{path}.command: required by the local runner (image "
                               "entrypoints are not available on this machine)")
        for key in ("command", "args"):
            value = container.get(key)
            if value is not None and not (isinstance(value, list)
                                          and all(isinstance(v, str) for v in value)):
                self.errors.append(f"{path}.{key}: must be a list of strings (quote values "
                                   "such as true or 1)")
        if script and not isinstance(container.get("source"), str):
            self.errors.append(f"{path}.source: required")
        for i, env in enumerate(container.get("env") or []):
            self.fields(env, f"{path}.env[{i}]", {"name", "value"})
        volume_names = {str(v.get("name")) for v in (self.manifest.spec.get("volumes") or [])
                        if isinstance(v, Mapping)}
        volume_names |= {str((v.get("metadata") or {}).get("name"))
                         for v in (self.manifest.spec.get("volumeClaimTemplates") or [])
                         if isinstance(v, Mapping)}
        for i, mount in enumerate(container.get("volumeMounts") or []):
            if self.fields(mount, f"{path}.volumeMounts[{i}]", _MOUNT_RUN) and \
                    mount.get("name") not in volume_names:
                self.errors.append(f"{path}.volumeMounts[{i}].name: volume "
                                   f"{mount.get('name')!r} is not declared in spec.volumes or "
                                   "spec.volumeClaimTemplates")

    def dag(self, dag: Any, path: str, names: set[str]) -> None:
        if not self.fields(dag, path, {"tasks", "failFast"}):
            return
        tasks = dag.get("tasks")
        if not isinstance(tasks, list) or not tasks:
            self.errors.append(f"{path}.tasks: at least one task is required")
            return
        task_names = [t.get("name") for t in tasks if isinstance(t, Mapping)]
        graph: dict[str, set[str]] = {}
        for i, task in enumerate(tasks):
            where = f"{path}.tasks[{i}]"
            if not self.fields(task, where, _TASK_RUN):
                continue
            if not isinstance(task.get("name"), str) or not task["name"]:
                self.errors.append(f"{where}.name: must be a non-empty string")
                continue
            dependencies = task.get("dependencies")
            if dependencies is not None and not (
                    isinstance(dependencies, list) and all(isinstance(d, str) for d in dependencies)):
                self.errors.append(f"{where}.dependencies: must be a list of task names")
                continue
            if task.get("depends") is not None and not isinstance(task.get("depends"), str):
                self.errors.append(f"{where}.depends: must be a string")
                continue
            if task.get("template") not in names:
                self.errors.append(f"{where}.template: template {task.get('template')!r} not found")
            if "dependencies" in task and "depends" in task:
                self.errors.append(f"{where}: use either dependencies or depends, not both")
            if "withItems" in task and "withParam" in task:
                self.errors.append(f"{where}: use either withItems or withParam, not both")
            arguments = task.get("arguments")
            if arguments is not None and self.fields(arguments, f"{where}.arguments", {"parameters"}):
                self.params(arguments.get("parameters"), f"{where}.arguments.parameters",
                            {"name", "value"})
            try:
                logic = depends_expression(task.get("dependencies"), task.get("depends"))
                deps = {name for name, _ in operands(logic)}
            except DependsError as error:
                self.errors.append(f"{where}.depends: {error}")
                continue
            for dep in sorted(deps - set(task_names)):
                self.errors.append(f"{where}: depends on unknown task {dep!r}")
            graph[str(task.get("name"))] = deps
        if _has_cycle(graph):
            self.errors.append(f"{path}.tasks: dependencies form a cycle")


def _has_cycle(graph: Mapping[str, set[str]]) -> bool:
    state: dict[str, int] = {}

    def visit(node: str) -> bool:
        if state.get(node) == 1:
            return True
        if state.get(node) == 2:
            return False
        state[node] = 1
        if any(visit(dep) for dep in graph.get(node, ()) if dep in graph):
            return True
        state[node] = 2
        return False

    return any(visit(node) for node in graph)


def check(manifest: Manifest) -> list[str]:
    """Every unsupported field of the manifest, by path; fills `manifest.notes`."""
    return _Checker(manifest).check()
