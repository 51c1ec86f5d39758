"""Template execution: one invocation of a template, its inputs and its retries.

A DAG template is walked by `dag` (which calls back into `execute` for its tasks); a
container or script template becomes a Pod node run by `pods`. Both record their nodes in the
node graph, the layer below.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from argoscope.local.dag import run_dag
from argoscope.local.graph import NodeGraph
from argoscope.local.manifest import Manifest, ManifestError
from argoscope.local.params import ParameterError, as_text, substitute
from argoscope.local.pods import PodRunner
from argoscope.local.retry import retry_policy
from argoscope.local.status import Node, node_id, pod_name
from argoscope.local.tasks import Link


class TemplateExecutor:
    """Runs the templates of `manifest` into `graph`; pods go to `pods`."""

    def __init__(self, manifest: Manifest, graph: NodeGraph, pods: PodRunner,
                 global_scope: Mapping[str, str]) -> None:
        self.manifest = manifest
        self.graph = graph
        self.pods = pods
        self.global_scope = global_scope

    def stopped(self) -> bool:
        """Whether the run was stopped (Ctrl-C): nothing new starts."""
        return self.pods.stopped

    def execute(self, template_name: str, name: str, display: str, boundary: str | None,
                arguments: Mapping[str, str], on_created: Link | None = None) -> Node:
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
            node = self.graph.new_node(name, display, kind, template_name, boundary, "Error",
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
                              inputs: dict[str, str], created: Link) -> Node:
        """A Retry node over attempts `name(0)`, `name(1)`, ... until one succeeds or the
        policy gives up; the Retry node takes the last attempt's phase."""
        retry_node = self.graph.new_node(name, display, "Retry", "", boundary)
        created(retry_node)
        scope = {**self.global_scope, **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}
        try:
            policy = retry_policy(retry, scope)
        except (ValueError, ParameterError) as error:
            self.graph.finish(retry_node, "Error", f"bad retryStrategy: {error}")
            return retry_node
        first_start = time.time()
        attempt = 0
        while True:
            child = self._execute_body(template, f"{name}({attempt})", f"{display}({attempt})",
                                       boundary, inputs, attempt, parent=retry_node)
            if child.phase == "Succeeded":
                # Its message is empty but for what a person should still read (an output
                # cut to Argo's cap): `get` shows the step's, the Retry node's, message.
                self.graph.finish(retry_node, "Succeeded", child.message, outputs=child.outputs,
                                  result=child.result, outbound=self.graph.outbound(child))
                return retry_node
            wait = policy.wait(attempt)
            message = ""
            if child.phase not in policy.retried or self.stopped():
                message = child.message
            elif policy.limit is not None and attempt >= policy.limit:
                message = "No more retries left"
            elif policy.max_duration is not None \
                    and time.time() + wait - first_start > policy.max_duration:
                message = "Max duration limit exceeded"
            if message:
                self.graph.finish(retry_node, child.phase, message, outputs=child.outputs,
                                  outbound=self.graph.outbound(child))
                return retry_node
            time.sleep(wait)
            attempt += 1

    def _execute_body(self, template: Mapping[str, Any], name: str, display: str,
                      boundary: str | None, inputs: dict[str, str], attempt: int,
                      parent: Node | None = None, on_created: Link | None = None) -> Node:
        """One attempt: a DAG node walked to its end, or a Pod node run to its exit."""
        if "dag" in template:
            node = self.graph.new_node(name, display, "DAG", str(template["name"]), boundary)
            node.inputs = inputs or None
            self._link(parent, node, on_created)
            scope = {**self.global_scope,
                     **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}
            run_dag(self.graph, self.execute, self.stopped, node, template, scope)
            return node
        workflow = self.graph.identity.name
        node = Node(id=node_id(workflow, name), name=name, display_name=display, type="Pod",
                    template_name=str(template["name"]), boundary_id=boundary,
                    phase="Pending", started=time.time(), inputs=inputs or None)
        node.pod = pod_name(workflow, str(template["name"]), name)
        self.graph.add(node)
        self._link(parent, node, on_created)
        self.graph.announce(node)
        self.pods.run(node, template, inputs, attempt)
        return node

    def _link(self, parent: Node | None, child: Node, on_created: Link | None) -> None:
        """Hand a new node to `on_created`, then link it under `parent` (a Retry node)."""
        if on_created is not None:
            on_created(child)
        if parent is not None:
            self.graph.append_child(parent, child)
