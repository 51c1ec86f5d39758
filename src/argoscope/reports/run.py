"""The run report: one page for one run of a pipeline.

A timeline of its steps (every attempt its own bar, with phase, start, duration and failure
reason), the checks of every step (the step report's section embedded where the step wrote
one), the `when:` decisions of the DAG, and GPU use where the status records it. The source
is the local runner's state directory or a Workflow in a `kubectl get -o json` dump.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argoscope import __version__
from argoscope.checks.distributions import Distribution
from argoscope.checks.schema import PARAMETER as CHECKS_PARAMETER
from argoscope.cost.prices import PriceBook
from argoscope.cost.runs import RunCost, run_cost, state_pods
from argoscope.local.names import workflow_name_problem
from argoscope.local.runs import contained
from argoscope.local.status import RUN_REPORT_FILE, RUNS_DIR
from argoscope.local.verdict import Verdict
from argoscope.reports import documents
from argoscope.reports.render import render, require, write_page
from argoscope.reports.sources import load_workflow, resolve_run
from argoscope.reports.step import checks_view
from argoscope.timefmt import parse_time

GPU_RESOURCE = "nvidia.com/gpu"
_RETRY_SUFFIX = re.compile(r"\(\d+\)$")
_WHEN_MESSAGE = re.compile(r"^when '(?P<expr>.*)' evaluated (?P<result>true|false)$", re.S)
_OUTPUT_REF = re.compile(r"^\{\{\s*tasks\.(?P<task>[^.]+)\.outputs\.parameters\.(?P<param>[^}\s]+)"
                         r"\s*\}\}\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<limit>[-+0-9.eE]+)$")
_NEGATED = {">": "≤", ">=": "<", "<": "≥", "<=": ">", "==": "≠", "!=": "="}
LOG_TAIL_LINES = 6
# Page bounds (docs/design.md): steps on the timeline and in the tables; a check document
# larger than this is not read (Argo caps an output parameter far below it).
MAX_STEPS = 300
# Every attempt stays visible, however short, and a skipped step's marker too; both stay
# inside the track (the stylesheet's minimum widths in pixels match these at a phone's width).
MIN_BAR_PERCENT = 1.5
MARKER_PERCENT = 3.5
MAX_CHECK_DOCUMENT_BYTES = 1024 * 1024
MAX_STEP_DOCUMENTS = 8
# Argo's resourcesDuration units: a CPU and 100 MiB of memory (and a GPU) held for a second.
RESOURCE_UNITS = {"cpu": ("CPU", "core-seconds", 1.0),
                  "memory": ("memory", "GiB-seconds", 100 / 1024),
                  GPU_RESOURCE: ("GPU", "GPU-seconds", 1.0)}


@dataclass
class Attempt:
    """One attempt of a step: a Pod node."""

    name: str
    phase: str
    started: float | None
    finished: float | None
    message: str = ""
    exit_code: str | None = None
    log_tail: str = ""

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish (None while running)."""
        if self.started is None or self.finished is None:
            return None
        return max(0.0, self.finished - self.started)


@dataclass
class Step:
    """One task of the run: its attempts, phase, checks and GPU use."""

    name: str
    phase: str
    message: str = ""
    started: float | None = None
    finished: float | None = None
    attempts: list[Attempt] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    distributions: dict[str, list[Distribution]] | None = None
    report_path: Path | None = None
    gpu_requested: str | None = None
    gpu_seconds: int | None = None
    when: dict[str, Any] | None = None
    view: Any = None  # the checks, grouped for the page


def _time(value: Any) -> float | None:
    """A timestamp of the run, or None when unset or unreadable: the page shows what it can."""
    try:
        return parse_time(value)
    except ValueError:
        return None


def _step_name(node: Mapping[str, Any]) -> str:
    return _RETRY_SUFFIX.sub("", str(node.get("displayName") or node.get("name") or ""))


def _parameters(node: Mapping[str, Any]) -> dict[str, str]:
    params = (node.get("outputs") or {}).get("parameters") or []
    return {str(p.get("name")): str(p.get("value", "")) for p in params if isinstance(p, Mapping)}


def _results(node: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = _parameters(node).get(CHECKS_PARAMETER)
    if not raw:
        return []
    if len(raw) > MAX_CHECK_DOCUMENT_BYTES:
        return [{"check": CHECKS_PARAMETER, "kind": "document", "status": "error",
                 "message": f"the checks document is larger than "
                            f"{MAX_CHECK_DOCUMENT_BYTES // 1024} KiB; not read"}]
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return [{"check": CHECKS_PARAMETER, "kind": "document", "status": "error",
                 "message": "the checks document is not valid JSON"}]
    return documents.results(document)


def _templates(workflow: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    status = workflow.get("status") or {}
    spec = status.get("storedWorkflowTemplateSpec") or workflow.get("spec") or {}
    return {str(t.get("name")): dict(t) for t in spec.get("templates") or []
            if isinstance(t, Mapping)}


def _gpu_request(template: Mapping[str, Any] | None) -> str | None:
    if not template:
        return None
    body = template.get("container") or template.get("script") or {}
    resources = body.get("resources") or {}
    for group in ("limits", "requests"):
        value = (resources.get(group) or {}).get(GPU_RESOURCE)
        if value is not None:
            return str(value)
    return None


def _when_decision(task: Mapping[str, Any], node: Mapping[str, Any] | None,
                   nodes_by_task: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """What a task's `when:` decided, and why in words when it compares a step's output."""
    expression = str(task.get("when"))
    decision: dict[str, Any] = {"task": task.get("name"), "expression": expression,
                                "evaluated": None, "ran": None, "reason": ""}
    if node is None:
        decision["reason"] = "not reached"
        return decision
    phase = str(node.get("phase"))
    found = _WHEN_MESSAGE.match(str(node.get("message") or ""))
    if node.get("type") == "Skipped" and not found:  # omitted, or an error before `when:`
        decision["reason"] = (f"{task.get('name')} was not evaluated: "
                              f"{node.get('message') or phase}")
        return decision
    decision["ran"] = not (node.get("type") == "Skipped" and phase == "Skipped")
    if found:
        decision["evaluated"] = found["expr"]
    reference = _OUTPUT_REF.match(expression.strip())
    if reference:
        source = nodes_by_task.get(reference["task"])
        value = _parameters(source).get(reference["param"]) if source else None
        if decision["evaluated"] is None and value is not None:
            decision["evaluated"] = f"{value} {reference['op']} {reference['limit']}"
        if value is not None:
            try:
                shown = f"{float(value):.2f}"
            except ValueError:
                shown = value
            op = reference["op"] if decision["ran"] else _NEGATED[reference["op"]]
            verb = "ran" if decision["ran"] else "skipped"
            decision["reason"] = (f"{task.get('name')} {verb} because {reference['param']} "
                                  f"{shown} {op} {reference['limit']}")
    if not decision["reason"]:
        decision["reason"] = f"{task.get('name')} {'ran' if decision['ran'] else 'skipped'}"
    return decision


def _node_dir(state_dir: Path | None, workflow: str, node_id: str) -> Path | None:
    if state_dir is None:
        return None
    # A name or node id (`../../x`) never makes the report read outside the state directory.
    return contained(state_dir, state_dir / RUNS_DIR / workflow / "nodes" / node_id)


def _log_tail(directory: Path | None) -> str:
    if directory is None:
        return ""
    try:
        lines = documents.read_tail(directory / "stderr.log")
    except OSError:
        return ""
    # JSON check-result lines are in the checks section already; the tail is for the failure.
    kept = [line for line in lines.splitlines() if line.strip() and not line.startswith('{"ts"')]
    return "\n".join(kept[-LOG_TAIL_LINES:])


def _step_document(directory: Path | None) -> tuple[dict[str, list[Distribution]] | None,
                                                    Path | None]:
    """The distributions of the step's data document (never its HTML: a step can leave any
    page in its directory), and the step report page beside it."""
    if directory is None or not directory.is_dir():
        return None, None
    candidates = sorted((p for p in directory.glob("*.json") if p.is_file() and not p.is_symlink()),
                        key=lambda p: (p.name != "report.json", p.name))  # ours first
    for path in candidates[:MAX_STEP_DOCUMENTS]:
        found = documents.read_step_document(path)
        if found is not None:
            page = path.with_suffix(".html")
            return found, page if page.is_file() else None
    return None, None


def build_steps(workflow: Mapping[str, Any], state_dir: Path | None = None) -> list[Step]:
    """The run's steps in start order, from the Workflow's status nodes."""
    name = str((workflow.get("metadata") or {}).get("name", ""))
    nodes: dict[str, dict[str, Any]] = dict((workflow.get("status") or {}).get("nodes") or {})
    templates = _templates(workflow)
    children_of_retry = {child for node in nodes.values() if node.get("type") == "Retry"
                         for child in node.get("children") or []}
    steps: list[Step] = []
    for node_id, node in nodes.items():
        kind = node.get("type")
        if kind not in ("Retry", "Pod", "Skipped") or node_id in children_of_retry:
            continue
        attempt_nodes = ([nodes[c] for c in node.get("children") or [] if c in nodes]
                         if kind == "Retry" else [node] if kind == "Pod" else [])
        step = Step(name=_step_name(node), phase=str(node.get("phase", "Unknown")),
                    message=str(node.get("message") or ""), started=_time(node.get("startedAt")),
                    finished=_time(node.get("finishedAt")))
        template = templates.get(str(node.get("templateName") or ""))
        if template is None and attempt_nodes:
            template = templates.get(str(attempt_nodes[0].get("templateName") or ""))
        step.gpu_requested = _gpu_request(template)
        gpu_total = 0
        for attempt_node in attempt_nodes:
            directory = _node_dir(state_dir, name, str(attempt_node.get("id")))
            failed = attempt_node.get("phase") in ("Failed", "Error")
            step.attempts.append(Attempt(
                name=str(attempt_node.get("displayName") or attempt_node.get("name")),
                phase=str(attempt_node.get("phase", "Unknown")),
                started=_time(attempt_node.get("startedAt")),
                finished=_time(attempt_node.get("finishedAt")),
                message=str(attempt_node.get("message") or ""),
                exit_code=(attempt_node.get("outputs") or {}).get("exitCode"),
                log_tail=_log_tail(directory) if failed else ""))
            gpu_total += int((attempt_node.get("resourcesDuration") or {}).get(GPU_RESOURCE, 0))
            # The last attempt that reported checks (or wrote a report) speaks for the step.
            results = _results(attempt_node)
            if results:
                step.results = results
            found, page = _step_document(directory)
            if found is not None:
                step.distributions, step.report_path = found, page
        if not step.results and kind == "Retry":
            step.results = _results(node)
        step.gpu_seconds = gpu_total or None
        steps.append(step)
    order = dag_order(workflow)
    steps.sort(key=lambda s: (order.get(s.name, len(order)), s.started is None,
                              s.started or 0.0, s.name))
    _attach_when(workflow, nodes, steps)
    return steps


def _dependencies(task: Mapping[str, Any], names: set[str]) -> set[str]:
    found = {str(d) for d in task.get("dependencies") or []}
    depends = task.get("depends")
    if isinstance(depends, str):  # `a && (b.Succeeded || c.Failed)`: the task names in it
        found |= {word.split(".")[0] for word in re.findall(r"[A-Za-z0-9][\w.-]*", depends)}
    return found & names


def _depths(needs: Mapping[str, set[str]]) -> dict[str, int]:
    """Each task's depth: 0 without dependencies, else one more than its deepest one, in one
    pass over the tasks in dependency order (Kahn's); tasks on a cycle, which Argo refuses,
    keep the depth reached before it."""
    depth = dict.fromkeys(needs, 0)
    waiting = {name: len(parents - {name}) for name, parents in needs.items()}
    children: dict[str, list[str]] = {name: [] for name in needs}
    for name, parents in needs.items():
        for parent in parents - {name}:
            children[parent].append(name)
    ready = [name for name, count in waiting.items() if count == 0]
    while ready:
        name = ready.pop()
        for child in children[name]:
            depth[child] = max(depth[child], depth[name] + 1)
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return depth


def dag_order(workflow: Mapping[str, Any]) -> dict[str, int]:
    """Each DAG task's place in the order a person reads a pipeline: by depth (a task after
    everything it depends on), then as the template lists them. Entry point's DAG first."""
    templates = _templates(workflow)
    spec = (workflow.get("status") or {}).get("storedWorkflowTemplateSpec") \
        or workflow.get("spec") or {}
    entry = str(spec.get("entrypoint") or "")
    ordered = sorted(templates.values(), key=lambda t: t.get("name") != entry)
    order: dict[str, int] = {}
    for template in ordered:
        tasks = [t for t in (template.get("dag") or {}).get("tasks") or []
                 if isinstance(t, Mapping) and t.get("name")]
        names = {str(t["name"]) for t in tasks}
        needs = {str(t["name"]): _dependencies(t, names) for t in tasks}
        depth = _depths(needs)
        listed = {name: index for index, name in enumerate(needs)}
        for name in sorted(needs, key=lambda n: (depth[n], listed[n])):
            order.setdefault(name, len(order))
    return order


def _attach_when(workflow: Mapping[str, Any], nodes: Mapping[str, Mapping[str, Any]],
                 steps: list[Step]) -> None:
    by_task: dict[str, Mapping[str, Any]] = {}
    for node in nodes.values():
        if node.get("type") in ("Retry", "Pod", "Skipped"):
            by_task.setdefault(_step_name(node), node)
    for node in nodes.values():  # a Retry node holds the outputs its dependants read
        if node.get("type") == "Retry":
            by_task[_step_name(node)] = node
    for template in _templates(workflow).values():
        for task in (template.get("dag") or {}).get("tasks") or []:
            if not isinstance(task, Mapping) or not task.get("when"):
                continue
            decision = _when_decision(task, by_task.get(str(task.get("name"))), by_task)
            for step in steps:
                if step.name == task.get("name"):
                    step.when = decision


def _timeline(steps: list[Step], run_started: float | None,
              run_finished: float | None) -> dict[str, Any]:
    moments = [t for s in steps for a in s.attempts for t in (a.started, a.finished) if t]
    moments += [t for s in steps for t in (s.started, s.finished) if t]
    start = run_started or (min(moments) if moments else 0.0)
    end = max([run_finished or 0.0, *moments]) if moments or run_finished else start + 1
    span = max(end - start, 1.0)
    lanes = []
    for step in steps:
        bars = []
        for attempt in step.attempts:
            begin = attempt.started or start
            finish = attempt.finished or end
            width = max(MIN_BAR_PERCENT, 100.0 * (finish - begin) / span)
            bars.append({"phase": attempt.phase, "name": attempt.name,
                         "left": min(100.0 * (begin - start) / span, 100.0 - width),
                         "width": width,
                         "duration": attempt.duration, "offset": begin - start,
                         "message": attempt.message})
        if not step.attempts:  # skipped or omitted: a marker where the decision fell
            moment = step.started or step.finished or end
            bars.append({"phase": step.phase, "name": step.name,
                         "left": min(100.0 - MARKER_PERCENT, 100.0 * (moment - start) / span),
                         "width": MARKER_PERCENT,
                         "duration": None, "offset": moment - start, "message": step.message})
        lanes.append({"step": step.name, "phase": step.phase, "bars": bars,
                      "attempts": len(step.attempts)})
    ticks = [span * i / 4 for i in range(5)]
    return {"lanes": lanes, "ticks": ticks, "span": span, "start": start}


def render_run_report(workflow: Mapping[str, Any], state_dir: Path | None = None,
                      cost: RunCost | None = None) -> str:
    """The run report page as HTML text (with `cost`, a cost section)."""
    require()
    metadata = workflow.get("metadata") or {}
    status = workflow.get("status") or {}
    steps = build_steps(workflow, state_dir)
    steps_dropped = max(0, len(steps) - MAX_STEPS)
    steps = steps[:MAX_STEPS]
    started, finished = _time(status.get("startedAt")), _time(status.get("finishedAt"))
    for step in steps:
        step.view = checks_view(step.results, step.distributions,
                                charts=step.distributions is not None)
    phase = str(status.get("phase") or "Unknown")
    failed_step = next((s.name for s in steps if s.phase in ("Failed", "Error")), "")
    verdict = Verdict.of(phase, ((str(r["status"]), str(r.get("severity")))
                                 for s in steps for r in s.view.all()),
                         failed_step if phase in ("Failed", "Error") else "")
    arguments = (workflow.get("spec") or {}).get("arguments") or {}
    parameters = [(p.get("name"), p.get("value")) for p in arguments.get("parameters") or []
                  if isinstance(p, Mapping)]
    retries = sum(max(0, len(s.attempts) - 1) for s in steps)
    return render(
        "run.html.j2", name=metadata.get("name", ""), namespace=metadata.get("namespace", ""),
        phase=phase, message=documents.text(status.get("message")), verdict=verdict,
        steps_dropped=steps_dropped, failed_checks=[
            (s.name, r) for s in steps for r in s.view.all()
            if r["status"] in ("failed", "error")],
        started=status.get("startedAt"), finished=status.get("finishedAt"),
        duration=(finished - started) if started and finished else None,
        parameters=[p for p in parameters if p[1] not in (None, "")], steps=steps,
        timeline=_timeline(steps, started, finished), retries=retries,
        decisions=[s.when for s in steps if s.when],
        gpu_steps=[s for s in steps if s.gpu_requested or s.gpu_seconds],
        resources=resources(status.get("resourcesDuration")), cost=cost,
        written=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), version=__version__)


def resources(durations: Any) -> list[str]:
    """Argo's `resourcesDuration` in words with units: `CPU 9 core-seconds`,
    `memory 2.8 GiB-seconds` (Argo counts memory in 100 MiB-seconds)."""
    shown = []
    for key, value in (durations.items() if isinstance(durations, Mapping) else []):
        amount = documents.number(value)
        if amount is None:
            continue
        label, unit, scale = RESOURCE_UNITS.get(str(key), (str(key), "unit-seconds", 1.0))
        shown.append(f"{documents.text(label, 60)} {amount * scale:.3g} {unit}")
    return shown


def write_run_report(state_dir: str | Path | None, run: str, out: str | Path | None = None,
                     *, dump: str | Path | None = None, prices: PriceBook | None = None) -> Path:
    """Write the report of `run` and return its path.

    From the local runner's `state_dir` (default output: `DIR/runs/<run>/report.html`, beside
    the run's logs; `run` is a name, a unique prefix or `@latest`) or, with `dump`, from a
    Workflow in a `kubectl get -o json` file (default output: `<run>.html` in the current
    directory; a name that is not a valid Workflow name needs `out`). Raises RunNotFound,
    ValueError for bad input and ReportsUnavailable when the `reports` extra is missing. With
    `prices`, the page shows each step's cost (pods from the state directory; a dump has
    none: unpriced).
    """
    state = Path(state_dir) if state_dir is not None else None
    if state is not None:
        run = resolve_run(state, run)  # `@latest`, a prefix: the name of a recorded run
    workflow = load_workflow(run, state_dir=state, dump=Path(dump) if dump else None)
    run = str((workflow.get("metadata") or {}).get("name") or run) if state is None else run
    problem = workflow_name_problem(run)
    if out is None and problem is not None:  # the name becomes a file name: Argo's names only
        raise ValueError(f"{problem}; give the page's path with -o")
    if out is None:
        out = state / RUNS_DIR / run / RUN_REPORT_FILE if state is not None else Path(f"{run}.html")
    cost = None
    if prices is not None:
        pods = state_pods(state, run) if state is not None else []
        cost = run_cost(workflow, pods, prices)
    return write_page(Path(out), render_run_report(workflow, state, cost))
