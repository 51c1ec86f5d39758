"""DAG templates: scheduling tasks by their dependencies, as Argo's controller does.

A task starts when every task it names has finished and its `depends` logic holds (else it
is Omitted); `when` decides between running and Skipped; `withItems`/`withParam` fan out
into a TaskGroup. The DAG's phase follows Argo's rule: each leaf task's branch phase, where an
Omitted task inherits a failure from the tasks it depends on; with `failFast` (the default)
no new task starts once a leaf's branch has failed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from argoscope.local.depends import (
    DependsError,
    TaskOutcome,
    depends_expression,
    operands,
    satisfied,
)
from argoscope.local.expr import ExpressionError, evaluate_when
from argoscope.local.params import (
    ParameterError,
    as_text,
    item_label,
    item_scope,
    substitute,
    substitute_all,
)
from argoscope.local.status import Node, rfc3339

if TYPE_CHECKING:
    from argoscope.local.runner import LocalRun

FAILED = frozenset({"Failed", "Error"})


def run_dag(run: LocalRun, dag_node: Node, template: Mapping[str, Any],
            inputs: dict[str, str]) -> None:
    """Run a DAG template's tasks under `dag_node` until none can start; set its phase."""
    dag = template["dag"]
    tasks: list[dict[str, Any]] = list(dag["tasks"])
    fail_fast = dag.get("failFast", True) is not False
    limit = template.get("parallelism")
    logic = {t["name"]: depends_expression(t.get("dependencies"), t.get("depends"))
             for t in tasks}
    deps = {name: list(dict.fromkeys(op for op, _ in operands(expr)))
            for name, expr in logic.items()}
    has_dependants = {d for names in deps.values() for d in names}
    targets = sorted(t["name"] for t in tasks if t["name"] not in has_dependants)
    outcomes: dict[str, Node] = {}
    scheduled: set[str] = set()
    running = 0
    condition = threading.Condition()
    dag_scope = {**run.global_scope,
                 **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}

    def branch(task: str) -> str:
        node = outcomes[task]
        if node.phase != "Omitted":
            return node.phase
        phases = [branch(d) for d in deps[task] if d in outcomes]
        failed = [p for p in phases if p in FAILED]
        return failed[0] if failed else "Succeeded"

    def assess() -> str:
        result = "Succeeded"
        for target in targets:
            phase = branch(target) if target in outcomes else ""
            if phase == "":
                result = "Running"
                if not fail_fast:
                    break
            elif phase in FAILED:
                result = phase
                if fail_fast:
                    break
        return result

    def finish_task(task_name: str, node: Node) -> None:
        nonlocal running
        with condition:
            outcomes[task_name] = node
            running -= 1
            condition.notify_all()

    def connect(task_name: str, node: Node) -> None:
        with run.lock:
            parents = [dag_node] if not deps[task_name] else [
                run.nodes[o] for d in deps[task_name] for o in run.outbound(outcomes[d])]
            for parent in parents:
                if node.id not in parent.children:
                    parent.children.append(node.id)
            run.save()

    with condition:
        while True:
            progressed = False
            stop_new = (fail_fast and assess() in FAILED) or run.processes.stopped
            for task in tasks:
                task_name = task["name"]
                if task_name in scheduled or run.processes.stopped:
                    continue
                if any(d not in outcomes or not outcomes[d].finished_phase
                       for d in deps[task_name]):
                    continue
                node_name = f"{dag_node.name}.{task_name}"
                if logic[task_name]:
                    try:
                        run_it = satisfied(logic[task_name], {
                            d: task_outcome(run, outcomes[d]) for d in deps[task_name]})
                    except DependsError as error:
                        scheduled.add(task_name)
                        node = run.new_node(node_name, task_name, "Skipped", "",
                                            dag_node.id, "Error", str(error))
                        connect(task_name, node)
                        outcomes[task_name] = node
                        progressed = True
                        continue
                    if not run_it:
                        scheduled.add(task_name)
                        node = run.new_node(node_name, task_name, "Skipped",
                                            str(task["template"]), dag_node.id, "Omitted",
                                            "omitted: depends condition not met")
                        connect(task_name, node)
                        outcomes[task_name] = node
                        progressed = True
                        continue
                if stop_new or (limit and running >= int(limit)):
                    continue
                scheduled.add(task_name)
                running += 1
                progressed = True
                scope = dict(dag_scope)
                for done, done_node in outcomes.items():
                    scope.update(task_scope(run, done, done_node))
                threading.Thread(
                    target=_run_task_thread,
                    args=(run, task, node_name, dag_node, scope, connect, finish_task),
                    name=f"task-{task_name}", daemon=True).start()
            if progressed:
                continue
            if running == 0:
                break
            condition.wait()
    phase = assess()
    if phase == "Running":  # stopped before every target was reached
        phase = "Failed"
    outbound = [o for t in targets if t in outcomes for o in run.outbound(outcomes[t])]
    run.finish(dag_node, phase, "", outbound=outbound)


def _run_task_thread(run: LocalRun, task: Mapping[str, Any], node_name: str, dag_node: Node,
                     scope: dict[str, str], connect: Callable[[str, Node], None],
                     finish: Callable[[str, Node], None]) -> None:
    """Run one task on its own thread and report its node to the DAG, whatever happens."""
    task_name = str(task["name"])
    try:
        node = _run_task(run, task, node_name, dag_node, scope, connect)
    except Exception as error:  # keep the DAG going and the failure visible
        node = run.new_node(node_name, task_name, "Skipped", "", dag_node.id, "Error",
                            f"local runner error: {type(error).__name__}: {error}")
    finish(task_name, node)


def _run_task(run: LocalRun, task: Mapping[str, Any], node_name: str, dag_node: Node,
              scope: dict[str, str], connect: Callable[[str, Node], None]) -> Node:
    """A task: one invocation, or a TaskGroup of `withItems`/`withParam` invocations."""
    task_name = str(task["name"])
    template_name = str(task["template"])
    try:
        resolved = substitute_all(dict(task), scope, partial=True)
    except ParameterError as error:
        node = run.new_node(node_name, task_name, "Skipped", template_name, dag_node.id,
                            "Error", str(error))
        connect(task_name, node)
        return node
    if "withItems" not in task and "withParam" not in task:
        return _run_instance(run, resolved, node_name, task_name, dag_node, scope,
                                  lambda n: connect(task_name, n))
    group = run.new_node(node_name, task_name, "TaskGroup", template_name, dag_node.id)
    connect(task_name, group)
    try:
        if "withItems" in resolved:
            items = list(resolved["withItems"])
        else:
            parsed = json.loads(substitute(str(resolved["withParam"]), scope))
            if not isinstance(parsed, list):
                raise ValueError("not a list")
            items = parsed
    except (ValueError, ParameterError) as error:
        run.finish(group, "Error", f"withParam value could not be parsed as a JSON list: "
                                     f"{error}")
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

        def link(child: Node, group: Node = group, index: int = index) -> None:
            # Children appear in item order, as Argo lists them, whatever starts first.
            with run.lock:
                order[child.id] = index
                group.children.append(child.id)
                group.children.sort(key=lambda c: order.get(c, 0))
                run.save()

        def run_child(item_task: dict[str, Any] = item_task, child_name: str = child_name,
                      child_display: str = child_display,
                      link: Callable[[Node], None] = link) -> None:
            children.append(_run_instance(run, item_task, child_name, child_display,
                                               dag_node, scope, link))

        thread = threading.Thread(target=run_child, daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    failed = [c.phase for c in children if c.phase in FAILED]
    run.finish(group, failed[0] if failed else "Succeeded", "",
                 outbound=[o for c in children for o in run.outbound(c)] or [group.id])
    return group


def _run_instance(run: LocalRun, task: Mapping[str, Any], node_name: str, display: str,
                  dag_node: Node, scope: Mapping[str, str],
                  link: Callable[[Node], None]) -> Node:
    """One invocation: its `when` decides Skipped or run; `link` places its node in the graph."""
    template_name = str(task["template"])
    try:
        task = substitute_all(dict(task), scope)
        when = task.get("when")
        proceed = True if not when else evaluate_when(str(when))
    except (ParameterError, ExpressionError) as error:
        message = (f"invalid 'when' expression {task.get('when')!r}: {error}"
                   if isinstance(error, ExpressionError) else str(error))
        node = run.new_node(node_name, display, "Skipped", template_name, dag_node.id,
                            "Error", message)
        link(node)
        return node
    if not proceed:
        node = run.new_node(node_name, display, "Skipped", template_name, dag_node.id,
                            "Skipped", f"when '{when}' evaluated false")
        link(node)
        return node
    arguments = {str(p["name"]): as_text(p.get("value", ""))
                 for p in (task.get("arguments") or {}).get("parameters") or []}
    return run.execute(template_name, node_name, display, dag_node.id, arguments, link)


def task_outcome(run: LocalRun, node: Node) -> TaskOutcome:
    """What `depends` sees of a finished task (with its fan-out children's phases)."""
    with run.lock:
        children = tuple(run.nodes[c].phase for c in node.children) \
            if node.type == "TaskGroup" else ()
    return TaskOutcome(node.phase, children)


def task_scope(run: LocalRun, task: str, node: Node) -> dict[str, str]:
    """The `{{tasks.<task>.*}}` values a finished task offers to later tasks."""
    prefix = f"tasks.{task}"
    scope = {f"{prefix}.status": node.phase, f"{prefix}.id": node.id}
    if node.started is not None:
        scope[f"{prefix}.startedAt"] = rfc3339(node.started) or ""
    if node.finished is not None:
        scope[f"{prefix}.finishedAt"] = rfc3339(node.finished) or ""
    if node.type == "TaskGroup":
        with run.lock:
            children = [run.nodes[c] for c in node.children]
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
