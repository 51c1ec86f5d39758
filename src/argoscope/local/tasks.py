"""One DAG task: a single invocation, or a TaskGroup fanned out by `withItems`/`withParam`.

An invocation's `when` decides between Skipped and running its template; the template
itself is run by whatever `ExecuteTemplate` the caller passes (the executor), so this module
depends on the node graph only. Also here: what a finished task shows later tasks, through
`depends` (`task_outcome`) and through `{{tasks.<name>.*}}` (`task_scope`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from argoscope.local.depends import TaskOutcome
from argoscope.local.expr import ExpressionError, evaluate_when
from argoscope.local.graph import NodeGraph
from argoscope.local.names import clipped, quoted
from argoscope.local.params import (
    ParameterError,
    as_text,
    item_label,
    item_scope,
    substitute,
    substitute_all,
)
from argoscope.local.status import FAILED, Node, rfc3339

Link = Callable[[Node], None]


class ExecuteTemplate(Protocol):
    """Runs one template invocation (with its retries) and returns its finished node.

    `on_created` receives the invocation's top node as soon as it exists, so a DAG can link
    it into the graph while it runs.
    """

    def __call__(self, template_name: str, name: str, display: str, boundary: str | None,
                 arguments: Mapping[str, str], on_created: Link | None = None) -> Node: ...


@dataclass(frozen=True, slots=True)
class TaskRun:
    """The DAG a task runs in: its graph, its node, and how to run a template."""

    graph: NodeGraph
    dag_node: Node
    execute: ExecuteTemplate

    def run(self, task: Mapping[str, Any], node_name: str, scope: dict[str, str],
            connect: Link) -> Node:
        """Run `task` to its finished node; `connect` places the task's top node in the DAG."""
        task_name = str(task["name"])
        template_name = str(task["template"])
        try:
            resolved = substitute_all(dict(task), scope, partial=True)
        except ParameterError as error:
            node = self.graph.new_node(node_name, task_name, "Skipped", template_name,
                                       self.dag_node.id, "Error", str(error))
            connect(node)
            return node
        if "withItems" not in task and "withParam" not in task:
            return self._invoke(resolved, node_name, task_name, scope, connect)
        return self._fan_out(resolved, node_name, task_name, template_name, scope, connect)

    def _fan_out(self, resolved: Mapping[str, Any], node_name: str, task_name: str,
                 template_name: str, scope: dict[str, str], connect: Link) -> Node:
        """A TaskGroup with one invocation per item, all at once; failed if any failed."""
        group = self.graph.new_node(node_name, task_name, "TaskGroup", template_name,
                                    self.dag_node.id)
        connect(group)
        try:
            if "withItems" in resolved:
                items = list(resolved["withItems"])
            else:
                parsed = json.loads(substitute(str(resolved["withParam"]), scope))
                if not isinstance(parsed, list):
                    raise ValueError("not a list")
                items = parsed
        except (ValueError, ParameterError) as error:
            self.graph.finish(group, "Error", f"withParam value could not be parsed as a JSON "
                                              f"list: {error}")
            return group
        children: list[Node] = []
        order: dict[str, int] = {}
        threads = []
        for index, item in enumerate(items):
            child_name = f"{node_name}({index}:{item_label(item)})"
            child_display = f"{task_name}({index}:{item_label(item)})"
            item_task = substitute_all({k: v for k, v in resolved.items()
                                        if k not in ("withItems", "withParam")},
                                       item_scope(item), partial=True)

            def link(child: Node, index: int = index) -> None:
                # Children appear in item order, as Argo lists them, whatever starts first.
                with self.graph.lock:
                    order[child.id] = index
                    self.graph.append_child(group, child, order=lambda c: order.get(c, 0))

            def run_child(item_task: dict[str, Any] = item_task, child_name: str = child_name,
                          child_display: str = child_display, link: Link = link) -> None:
                children.append(self._invoke(item_task, child_name, child_display, scope, link))

            thread = threading.Thread(target=run_child, daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        failed = [c.phase for c in children if c.phase in FAILED]
        self.graph.finish(group, failed[0] if failed else "Succeeded", "",
                          outbound=[o for c in children for o in self.graph.outbound(c)]
                          or [group.id])
        return group

    def _invoke(self, task: Mapping[str, Any], node_name: str, display: str,
                scope: Mapping[str, str], link: Link) -> Node:
        """One invocation: its `when` decides Skipped or run; `link` places its node."""
        template_name = str(task["template"])
        try:
            task = substitute_all(dict(task), scope)
            when = task.get("when")
            proceed = True if not when else evaluate_when(str(when))
        except (ParameterError, ExpressionError) as error:
            message = (f"invalid 'when' expression {quoted(str(task.get('when')))}: {error}"
                       if isinstance(error, ExpressionError) else str(error))
            node = self.graph.new_node(node_name, display, "Skipped", template_name,
                                       self.dag_node.id, "Error", message)
            link(node)
            return node
        if not proceed:
            node = self.graph.new_node(node_name, display, "Skipped", template_name,
                                       self.dag_node.id, "Skipped",
                                       f"when '{clipped(str(when))}' evaluated false")
            link(node)
            return node
        arguments = {str(p["name"]): as_text(p.get("value", ""))
                     for p in (task.get("arguments") or {}).get("parameters") or []}
        return self.execute(template_name, node_name, display, self.dag_node.id, arguments,
                            link)


def task_outcome(graph: NodeGraph, node: Node) -> TaskOutcome:
    """What `depends` sees of a finished task (with its fan-out children's phases)."""
    children = tuple(c.phase for c in graph.children(node)) if node.type == "TaskGroup" else ()
    return TaskOutcome(node.phase, children)


def task_scope(graph: NodeGraph, task: str, node: Node) -> dict[str, str]:
    """The `{{tasks.<task>.*}}` values a finished task offers to later tasks."""
    prefix = f"tasks.{task}"
    scope = {f"{prefix}.status": node.phase, f"{prefix}.id": node.id}
    if node.started is not None:
        scope[f"{prefix}.startedAt"] = rfc3339(node.started) or ""
    if node.finished is not None:
        scope[f"{prefix}.finishedAt"] = rfc3339(node.finished) or ""
    if node.type == "TaskGroup":
        children = graph.children(node)
        scope[f"{prefix}.outputs.parameters"] = json.dumps(
            [c.outputs or {} for c in children])
        scope[f"{prefix}.outputs.result"] = json.dumps([c.result for c in children])
        names = {k for c in children for k in (c.outputs or {})}
        for name in names:
            scope[f"{prefix}.outputs.parameters.{name}"] = json.dumps(
                [(c.outputs or {}).get(name) for c in children])
        return scope
    for name, value in (node.outputs or {}).items():
        scope[f"{prefix}.outputs.parameters.{name}"] = value
    if node.result is not None:
        scope[f"{prefix}.outputs.result"] = node.result
    if node.exit_code is not None:
        scope[f"{prefix}.exitCode"] = str(node.exit_code)
    return scope
