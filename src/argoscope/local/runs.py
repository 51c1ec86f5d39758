"""Reading runs back from a state directory: the step tree, check results and failures.

`argoscope list`, `get` and `logs`, the runner's failure output and the demo's summary all
read the Argo-shaped Workflow objects the runner writes (`DIR/workflows/<name>.json`) through
this module, so they agree on which step failed and why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argoscope.boundedio import read_at_most
from argoscope.checks.schema import PARAMETER as CHECKS_PARAMETER
from argoscope.local.names import OutsideStateDir, command, inside
from argoscope.local.status import FAILED, RUNS_DIR, WORKFLOWS_DIR

# Re-exported: readers of runs (the demo) name the stopped message from here.
from argoscope.local.status import STOPPED_MESSAGE as STOPPED_MESSAGE
from argoscope.local.stepfiles import read_tail_text
from argoscope.local.verdict import Verdict
from argoscope.timefmt import parse_time

_ATTEMPT_SUFFIX = re.compile(r"\(\d+\)$")


def span(started: float | None, finished: float | None) -> float | None:
    """Seconds from `started` to `finished`, when both are known (never negative)."""
    if started is None or finished is None:
        return None
    return max(0.0, finished - started)


class RunNotFound(LookupError):
    """No run matches the name given (the message lists what exists)."""


@dataclass(frozen=True)
class CheckResult:
    """One result of an `argoscope.checks/v1` document."""

    check: str
    kind: str
    status: str
    value: float | None = None
    threshold: float | None = None
    op: str | None = None
    message: str = ""
    drifted: tuple[str, ...] = ()
    feature_count: int = 0
    severity: str = "critical"

    def describe(self) -> str:
        """What a person needs: the value against its threshold, and drifted features."""
        if self.kind == "drift" and self.feature_count:
            shown = ", ".join(self.drifted[:10]) + (
                f", +{len(self.drifted) - 10} more" if len(self.drifted) > 10 else "")
            text = f"{len(self.drifted)} of {self.feature_count} features drifted"
            if self.value is not None and self.threshold is not None:
                text += f" (share {self.value:.2f}, limit {self.threshold:g})"
            return text + (f": {shown}" if shown else "")
        if self.value is not None and self.threshold is not None:
            sign = "<" if self.value < self.threshold else ">" if self.value > self.threshold \
                else "="
            needs = f" (needs {self.op} {self.threshold:g})" if self.op else ""
            return f"{self.value:.2f} {sign} {self.threshold:g}{needs}"
        return self.message or self.status


def parse_checks(raw: str) -> list[CheckResult]:
    """The results of an `argoscope-checks` document; [] when it is not one.

    The exporter's parser (`argoscope.exporter.checkdocs`) validates the document when the
    exporter extra is installed, so what this shows is what the exporter counts.
    """
    try:
        from argoscope.exporter.checkdocs import (
            DEFAULT_MAX_BYTES,
            MalformedDocument,
            parse_document,
        )
    except ModuleNotFoundError:  # base install: no prometheus_client; read it plainly
        try:
            body = json.loads(raw)
        except ValueError:
            return []
        results = body.get("results") if isinstance(body, dict) else None
        entries: Sequence[Mapping[str, Any]] = [
            r for r in results or [] if isinstance(r, dict) and isinstance(r.get("check"), str)]
    else:
        try:
            entries = parse_document(raw, DEFAULT_MAX_BYTES)
        except MalformedDocument:
            return []
    return [_check(entry) for entry in entries]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _check(entry: Mapping[str, Any]) -> CheckResult:
    features = [f for f in entry.get("features") or [] if isinstance(f, Mapping)]
    return CheckResult(
        check=str(entry["check"]), kind=str(entry.get("kind") or "check"),
        status=str(entry.get("status")), value=_number(entry.get("value")),
        threshold=_number(entry.get("threshold")),
        op=str(entry["op"]) if entry.get("op") else None,
        message=str(entry.get("message") or ""),
        drifted=tuple(str(f.get("feature")) for f in features if f.get("drifted")),
        feature_count=len(features),
        severity="warning" if entry.get("severity") == "warning" else "critical")


@dataclass
class Attempt:
    """One Pod node: a step's attempt (a step without retries has one)."""

    node_id: str
    name: str
    phase: str
    started: float | None
    finished: float | None
    message: str
    log_dir: Path
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def stderr_path(self) -> Path:
        """Where the attempt's standard error went."""
        return self.log_dir / "stderr.log"

    @property
    def stdout_path(self) -> Path:
        """Where the attempt's standard output went."""
        return self.log_dir / "stdout.log"

    def stderr_tail(self, lines: int = 10, width: int = 300) -> list[str]:
        """The last lines of its standard error that say something: blank lines and routine
        (INFO/DEBUG) JSON log records left out, long lines cut to `width`; read from the
        file's last LOG_TAIL_LIMIT bytes (the first line there may be a part of one)."""
        try:  # its tail only: a step's log can be any size
            text = read_tail_text(self.stderr_path)
        except OSError:
            return []
        kept = [line if len(line) <= width else line[:width] + "..."
                for line in text.splitlines() if line.strip() and not _routine(line)]
        return kept[-lines:]


def _routine(line: str) -> bool:
    """Whether a line is a structured log record below WARNING (checks log one per check)."""
    if not line.startswith("{"):
        return False
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and str(record.get("level", "")).upper() in ("INFO", "DEBUG")


@dataclass
class Step:
    """A task of a DAG: its phase, attempts (retries), checks and nested tasks."""

    name: str
    node_id: str
    type: str
    phase: str
    started: float | None
    finished: float | None
    message: str
    attempts: list[Attempt] = field(default_factory=list)
    children: list[Step] = field(default_factory=list)

    @property
    def retries(self) -> int:
        """Attempts beyond the first."""
        return max(0, len(self.attempts) - 1)

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, when both are known."""
        return span(self.started, self.finished)

    @property
    def checks(self) -> list[CheckResult]:
        """The check results of its last attempt that reported any."""
        for attempt in reversed(self.attempts):
            if attempt.checks:
                return attempt.checks
        return []

    @property
    def stopped(self) -> bool:
        """Whether Ctrl-C stopped it (not a failure of its own)."""
        return STOPPED_MESSAGE in self.message or any(
            STOPPED_MESSAGE in a.message for a in self.attempts[-1:])

    def walk(self) -> Iterator[tuple[int, Step]]:
        """This step and every nested one, with its depth, in order."""
        yield 0, self
        for child in self.children:
            for depth, step in child.walk():
                yield depth + 1, step


@dataclass(frozen=True)
class Failure:
    """Why a run failed: the step that failed, its reason and where its log is."""

    step: str
    phase: str
    reason: str
    attempts: int
    stderr_tail: list[str]
    log_path: Path | None
    stopped: bool
    checks: tuple[CheckResult, ...] = ()


@dataclass
class Run:
    """One recorded run."""

    name: str
    namespace: str
    phase: str
    message: str
    started: float | None
    finished: float | None
    parameters: dict[str, str]
    path: Path
    log_dir: Path
    root: Step

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, when both are known."""
        return span(self.started, self.finished)

    @property
    def steps(self) -> list[Step]:
        """The entrypoint DAG's tasks (the root itself when the entrypoint is one Pod)."""
        return self.root.children or [self.root]

    def all_steps(self) -> list[Step]:
        """Every task at every depth, the root excluded."""
        return [step for depth, step in self.root.walk() if depth > 0] or [self.root]

    def verdict(self) -> Verdict:
        """The run's one-line verdict: its phase, the step that failed it, its checks."""
        failures = [f for f in self.failures() if not f.stopped]
        return Verdict.of(self.phase, ((c.status, c.severity) for step in self.all_steps()
                                       for c in step.checks),
                          failures[0].step if failures else "")

    def failures(self) -> list[Failure]:
        """The steps whose failure failed the run (not attempts a retry recovered)."""
        if self.phase not in FAILED:
            return []
        found: list[Failure] = []
        for step in self.all_steps():
            if step.phase not in FAILED or step.children:
                continue  # a DAG fails because of its tasks: name those
            last = step.attempts[-1] if step.attempts else None
            tail = last.stderr_tail() if last else []
            reason = tail[-1] if tail else (last.message if last else "") or step.message
            if step.stopped:
                reason = STOPPED_MESSAGE
            found.append(Failure(
                step=step.name, phase=step.phase, reason=reason or step.phase,
                attempts=len(step.attempts), stderr_tail=tail,
                log_path=last.stderr_path if last else None, stopped=step.stopped,
                checks=tuple(c for c in (last.checks if last else []) if c.status in
                             ("failed", "error"))))
        return found


def step_name(display_name: str) -> str:
    """A node's step name: its display name without a retry attempt's `(N)` suffix."""
    return _ATTEMPT_SUFFIX.sub("", display_name)


# A Workflow object larger than this is not read (the runner's own stay far below it).
MAX_WORKFLOW_BYTES = 32 * 1024 * 1024


def contained(state_dir: Path, path: Path) -> Path:
    """`path` when it lies inside the state directory; else a path there that does not exist,
    so a name or node id in a Workflow object (`../../x`) never makes a reader leave it."""
    try:
        inside(state_dir, path)
    except OutsideStateDir:
        return state_dir / RUNS_DIR / ".outside-the-state-directory"
    return path


def load_run(path: Path, state_dir: Path | None = None) -> Run:
    """Read one Workflow object the runner wrote (ValueError when over MAX_WORKFLOW_BYTES)."""
    data = read_at_most(path, MAX_WORKFLOW_BYTES)
    if len(data) > MAX_WORKFLOW_BYTES:
        raise ValueError(f"{path}: larger than {MAX_WORKFLOW_BYTES // (1024 * 1024)} MiB")
    workflow = json.loads(data)
    state = state_dir if state_dir is not None else path.parent.parent
    metadata = workflow.get("metadata") or {}
    status = workflow.get("status") or {}
    name = str(metadata.get("name", path.stem))
    log_dir = contained(state, state / RUNS_DIR / name)
    nodes: dict[str, Mapping[str, Any]] = dict(status.get("nodes") or {})
    grouped = {child for node in nodes.values() if node.get("type") in ("Retry", "TaskGroup")
               for child in node.get("children") or []}

    def attempt(node: Mapping[str, Any]) -> Attempt:
        checks: list[CheckResult] = []
        for parameter in (node.get("outputs") or {}).get("parameters") or []:
            if parameter.get("name") == CHECKS_PARAMETER and parameter.get("value"):
                checks = parse_checks(str(parameter["value"]))
        return Attempt(str(node["id"]), str(node.get("displayName", "")),
                       str(node.get("phase")), parse_time(node.get("startedAt")),
                       parse_time(node.get("finishedAt")), str(node.get("message") or ""),
                       contained(state, log_dir / "nodes" / str(node["id"])), checks)

    def build(node: Mapping[str, Any]) -> Step:
        kind = str(node.get("type"))
        step = Step(step_name(str(node.get("displayName", ""))), str(node["id"]), kind,
                    str(node.get("phase")), parse_time(node.get("startedAt")),
                    parse_time(node.get("finishedAt")), str(node.get("message") or ""))
        members = [nodes[c] for c in node.get("children") or [] if c in nodes]
        if kind == "Pod":
            step.attempts.append(attempt(node))
        elif kind == "Retry":
            for member in members:
                if member.get("type") == "Pod":
                    step.attempts.append(attempt(member))
                else:  # a retried DAG: its tasks show under it
                    step.children.extend(build(member).children)
        elif kind == "TaskGroup":
            step.children = [build(member) for member in members]
        elif kind == "DAG":
            tasks = [n for n in nodes.values()
                     if n.get("boundaryID") == node["id"] and n["id"] not in grouped]
            step.children = [build(task) for task in tasks]
        return step

    root_node = nodes.get(name) or {"id": name, "displayName": name, "type": "DAG",
                                    "phase": status.get("phase")}
    parameters = {str(p.get("name")): str(p.get("value", ""))
                  for p in ((workflow.get("spec") or {}).get("arguments") or {}).get(
                      "parameters") or []}
    return Run(name=name, namespace=str(metadata.get("namespace", "")),
               phase=str(status.get("phase", "Unknown")),
               message=str(status.get("message") or ""),
               started=parse_time(status.get("startedAt")),
               finished=parse_time(status.get("finishedAt")),
               parameters=parameters, path=path, log_dir=log_dir, root=build(root_node))


def list_runs(state_dir: Path) -> list[Run]:
    """Every readable run in the state directory, oldest first."""
    folder = state_dir / WORKFLOWS_DIR
    runs = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            runs.append(load_run(path, state_dir))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # half-written by another process, or not a run: list the others
    return sorted(runs, key=lambda r: (r.started or 0.0, r.name))


def find_run(state_dir: Path, wanted: str) -> Run:
    """The run named `wanted` (a unique prefix, or `@latest`); RunNotFound otherwise."""
    runs = list_runs(state_dir)
    if not runs:
        raise RunNotFound(f"no runs in {state_dir / WORKFLOWS_DIR}")
    if wanted == "@latest":
        return runs[-1]
    exact = [r for r in runs if r.name == wanted]
    matches = exact or [r for r in runs if r.name.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(r.name for r in (matches or runs)[-10:])
    what = "matches several runs" if matches else "matches no run"
    raise RunNotFound(f"{wanted!r} {what} in {state_dir / WORKFLOWS_DIR} (runs: {names})")


def format_duration(seconds: float | None) -> str:
    """`4.2s`, `3m05s`; `-` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def failure_lines(run: Run, state_hint: str = "", tail: int = 10) -> list[str]:
    """What a person reads when a run failed: the step, its reason, stderr tail, log path."""
    lines: list[str] = []
    for failure in run.failures():
        if failure.stopped:
            lines.append(f"stopped: {failure.step} (stopped by user)")
            continue
        tried = f" after {failure.attempts} attempts" if failure.attempts > 1 else ""
        lines.append(f"failed step: {failure.step} ({failure.phase}{tried}): {failure.reason}")
        lines.extend(f"  check {check.status}: {check.check}: {check.describe()}"
                     for check in failure.checks)
        if len(failure.stderr_tail) > 1:
            lines.append("  stderr (last lines):")
            lines.extend(f"    {line}" for line in failure.stderr_tail[-tail:])
        if failure.log_path is not None:
            lines.append(f"  log: {failure.log_path}")
    if lines:
        lines.append(f"more: {command()} get {run.name}{state_hint}")
    return lines
