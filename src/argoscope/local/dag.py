"""DAG templates: scheduling tasks by their dependencies, as Argo's controller does.

A task starts when every task it names has finished and its `depends` logic holds (else it
is Omitted); `when` decides between running and Skipped; `withItems`/`withParam` fan out
into a TaskGroup (both in `tasks`). The DAG's phase follows Argo's rule: each leaf task's
branch phase, where an Omitted task inherits a failure from the tasks it depends on; with
`failFast` (the default) no new task starts once a leaf's branch has failed.

This module walks the DAG over the node graph; it runs templates through the `ExecuteTemplate`
it is given and so does not import the executor, which imports it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from argoscope.local.depends import DependsError, depends_expression, operands, satisfied
from argoscope.local.graph import NodeGraph
from argoscope.local.status import FAILED, Node
from argoscope.local.tasks import ExecuteTemplate, TaskRun, task_outcome, task_scope


def run_dag(graph: NodeGraph, execute: ExecuteTemplate, stopped: Callable[[], bool],
            dag_node: Node, template: Mapping[str, Any], scope: Mapping[str, str]) -> None:
    """Run a DAG template's tasks under `dag_node` until none can start; set its phase.

    `scope` holds the values the tasks may reference (the workflow's and the DAG's inputs);
    once `stopped()` holds (Ctrl-C), no task starts.
    """
    DagWalk(graph, TaskRun(graph, dag_node, execute), stopped, template, scope).run()


class DagWalk:
    """One run of a DAG template: which tasks finished, which run, which may start next."""

    def __init__(self, graph: NodeGraph, tasks: TaskRun, stopped: Callable[[], bool],
                 template: Mapping[str, Any], scope: Mapping[str, str]) -> None:
        dag = template["dag"]
        self.graph = graph
        self.task_run = tasks
        self.dag_node = tasks.dag_node
        self.stopped = stopped
        self.scope = dict(scope)
        self.tasks: list[dict[str, Any]] = list(dag["tasks"])
        self.fail_fast = dag.get("failFast", True) is not False
        self.limit = template.get("parallelism")
        self.logic = {t["name"]: depends_expression(t.get("dependencies"), t.get("depends"))
                      for t in self.tasks}
        self.deps = {name: list(dict.fromkeys(op for op, _ in operands(expr)))
                     for name, expr in self.logic.items()}
        has_dependants = {d for names in self.deps.values() for d in names}
        # The leaves: their branches decide the DAG's phase.
        self.targets = sorted(t["name"] for t in self.tasks if t["name"] not in has_dependants)
        self.outcomes: dict[str, Node] = {}
        self.scheduled: set[str] = set()
        self.running = 0
        self.condition = threading.Condition()

    def run(self) -> None:
        """Start tasks as their dependencies finish until none is left; finish the DAG node."""
        with self.condition:
            while True:
                if self._start_ready():
                    continue
                if self.running == 0:
                    break
                self.condition.wait()
        phase = self.phase()
        if phase == "Running":  # stopped before every target was reached
            phase = "Failed"
        outbound = [o for t in self.targets if t in self.outcomes
                    for o in self.graph.outbound(self.outcomes[t])]
        self.graph.finish(self.dag_node, phase, "", outbound=outbound)

    def phase(self) -> str:
        """The DAG's phase from its leaves' branches: Running until each is known."""
        result = "Succeeded"
        for target in self.targets:
            phase = self._branch(target) if target in self.outcomes else ""
            if phase == "":
                result = "Running"
                if not self.fail_fast:
                    break
            elif phase in FAILED:
                result = phase
                if self.fail_fast:
                    break
        return result

    def _branch(self, task: str) -> str:
        """A finished task's phase, where an Omitted one inherits its dependencies' failure."""
        node = self.outcomes[task]
        if node.phase != "Omitted":
            return node.phase
        phases = [self._branch(d) for d in self.deps[task] if d in self.outcomes]
        failed = [p for p in phases if p in FAILED]
        return failed[0] if failed else "Succeeded"

    # --- scheduling (with `condition` held) ---------------------------------------------------

    def _start_ready(self) -> bool:
        """Settle or start every task whose dependencies have finished; whether any was."""
        progressed = False
        stop_new = (self.fail_fast and self.phase() in FAILED) or self.stopped()
        for task in self.tasks:
            progressed = self._consider(task, stop_new) or progressed
        return progressed

    def _consider(self, task: dict[str, Any], stop_new: bool) -> bool:
        """Omit, refuse or start one task if its dependencies have finished."""
        task_name = task["name"]
        if task_name in self.scheduled or self.stopped():
            return False
        deps = self.deps[task_name]
        if any(d not in self.outcomes or not self.outcomes[d].finished_phase for d in deps):
            return False
        node_name = f"{self.dag_node.name}.{task_name}"
        if self.logic[task_name]:
            try:
                run_it = satisfied(self.logic[task_name], {
                    d: task_outcome(self.graph, self.outcomes[d]) for d in deps})
            except DependsError as error:
                self._settle(task_name, self.graph.new_node(
                    node_name, task_name, "Skipped", "", self.dag_node.id, "Error", str(error)))
                return True
            if not run_it:
                self._settle(task_name, self.graph.new_node(
                    node_name, task_name, "Skipped", str(task["template"]), self.dag_node.id,
                    "Omitted", "omitted: depends condition not met"))
                return True
        if stop_new or (self.limit and self.running >= int(self.limit)):
            return False
        self.scheduled.add(task_name)
        self.running += 1
        scope = dict(self.scope)
        for done, done_node in self.outcomes.items():
            scope.update(task_scope(self.graph, done, done_node))
        threading.Thread(target=self._run_task, args=(task, node_name, scope),
                         name=f"task-{task_name}", daemon=True).start()
        return True

    def _settle(self, task_name: str, node: Node) -> None:
        """Record a task that ends without running (Omitted, or its `depends` in Error)."""
        self.scheduled.add(task_name)
        self._connect(task_name, node)
        self.outcomes[task_name] = node

    # --- task threads -------------------------------------------------------------------------

    def _run_task(self, task: Mapping[str, Any], node_name: str, scope: dict[str, str]) -> None:
        """Run one task on its own thread and report its node to the walk, whatever happens."""
        task_name = str(task["name"])
        try:
            node = self.task_run.run(task, node_name, scope,
                                     lambda n: self._connect(task_name, n))
        except Exception as error:  # keep the DAG going and the failure visible
            node = self.graph.new_node(node_name, task_name, "Skipped", "", self.dag_node.id,
                                       "Error",
                                       f"local runner error: {type(error).__name__}: {error}")
        with self.condition:
            self.outcomes[task_name] = node
            self.running -= 1
            self.condition.notify_all()

    def _connect(self, task_name: str, node: Node) -> None:
        """Link a task's node under its dependencies' outbound nodes (or the DAG's node)."""
        with self.graph.lock:
            deps = self.deps[task_name]
            parents = [self.dag_node] if not deps else [
                self.graph.nodes[o] for d in deps for o in self.graph.outbound(self.outcomes[d])]
            self.graph.link_after(node, parents)
