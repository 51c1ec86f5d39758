"""The per-run summary a person reads at the end of `argoscope run` and of the demo: the
verdict, each step's phase, every check that did not pass with its value against its
threshold, why a failed run failed, and where its report is. One formatter for both."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

from argoscope.local.names import command
from argoscope.local.runs import Run, failure_lines, format_duration

_SHORT = {"Succeeded": "ok", "Skipped": "skipped", "Omitted": "omitted"}
DEFAULT_STATE_DIR = ".argoscope"


def state_hint(state_dir: Path | str) -> str:
    """What a command needs after the run's name to find its state directory, quoted for a
    shell: '' for the default directory, else ` --state-dir DIR`."""
    text = str(state_dir)
    if text in (DEFAULT_STATE_DIR, f"./{DEFAULT_STATE_DIR}"):
        return ""
    return f" --state-dir {shlex.quote(text)}"


def run_block(run: Run, hint: str, page: Path | None, label: str = "",
              indent: str = "  ") -> Iterator[str]:
    """One run: name, verdict and duration; its steps; its checks that did not pass; why it
    failed; its report (or the command that writes it)."""
    retries = sum(step.retries for step in run.all_steps())
    head = f"{label:8} " if label else ""
    yield (f"{head}{run.name}  {run.verdict().line}  ({format_duration(run.duration)}"
           f"{f', {retries} retries' if retries else ''})")
    pad = " " * len(head) + indent if label else indent
    yield f"{pad}steps: " + ", ".join(f"{step.name} {_SHORT.get(step.phase, step.phase)}"
                                      for step in run.steps)
    checks = [(step.name, check) for step in run.all_steps() for check in step.checks]
    bad = [(step, check) for step, check in checks if check.status != "passed"]
    if not checks:
        yield f"{pad}checks: none reported (no step got as far as its checks)"
    else:
        yield f"{pad}checks: {len(checks) - len(bad)} of {len(checks)} passed"
        for step, check in bad:
            yield f"{pad}  {check.status}: {step}/{check.check}: {check.describe()}"
    for line in failure_lines(run, hint):
        if not line.startswith("more:"):
            yield f"{pad}{line}"
    if page is not None:
        yield f"{pad}report: {page}"


def next_line(run: Run, hint: str) -> str:
    """The commands that show more, copy-pasteable (the state directory included)."""
    failures = [f for f in run.failures() if not f.stopped]
    name = command()
    if failures:
        return (f"next: {name} get {run.name}{hint}   (then: {name} logs {run.name} "
                f"{shlex.quote(failures[0].step)}{hint})")
    return f"next: {name} get {run.name}{hint}"
