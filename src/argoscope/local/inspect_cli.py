"""`argoscope list`, `argoscope get RUN`, `argoscope logs RUN [STEP]`: Argo's everyday verbs,
on the local runner's state directory."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argoscope.cli_errors import CommandError
from argoscope.local.cli import DEFAULT_STATE_DIR
from argoscope.local.names import command, printable
from argoscope.local.status import RUN_REPORT_FILE
from argoscope.local.summary import state_hint

if TYPE_CHECKING:  # the module stays light to import: `argoscope --help` loads it
    from argoscope.local.runs import Run

_PHASE_WIDTH = 10


def _state_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", type=Path, default=Path(DEFAULT_STATE_DIR),
                        help=f"the runner's state directory (default {DEFAULT_STATE_DIR}; the "
                             "demo's is demo-state)")


def register(subparsers: Any) -> None:
    """Add `list`, `get` and `logs`."""
    listing = subparsers.add_parser(
        "list", help="list the runs recorded in a state directory",
        description="List local runs, oldest first: name, phase, start and duration.")
    _state_dir_option(listing)
    listing.set_defaults(handler=list_main)
    get = subparsers.add_parser(
        "get", help="show one run: its steps, phases, durations, retries, reasons, checks",
        description="Show one local run as a step tree, with each step's phase, duration, "
                    "retries, failure reason and the checks that did not pass.")
    get.add_argument("run", metavar="RUN",
                     help="the run's name, a unique prefix of it, or @latest")
    _state_dir_option(get)
    get.set_defaults(handler=get_main)
    logs = subparsers.add_parser(
        "logs", help="print a run's step logs (every step, or one)",
        description="Print the standard output and error of a run's steps, attempt by "
                    "attempt, each under a header naming the step and the log file.")
    logs.add_argument("run", metavar="RUN",
                      help="the run's name, a unique prefix of it, or @latest")
    logs.add_argument("step", metavar="STEP", nargs="?", default=None,
                      help="only this step (its task name, e.g. preprocessing)")
    _state_dir_option(logs)
    logs.set_defaults(handler=logs_main)


def _when(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def list_main(args: argparse.Namespace) -> int:
    """Print one line per run; exit 0 (an empty directory says so)."""
    from argoscope.local.runs import format_duration, list_runs

    if not args.state_dir.is_dir():  # as `get` and `logs`: a missing directory is bad input
        what = "not a directory" if args.state_dir.exists() else "no such directory"
        raise CommandError(f"--state-dir {args.state_dir}: {what}")
    runs = list_runs(args.state_dir)
    if not runs:
        print(f"no runs in {args.state_dir}", file=sys.stderr)
        return 0
    width = max(len(r.name) for r in runs)
    print(f"{'NAME':{width}}  {'STATUS':{_PHASE_WIDTH}}  {'STARTED':23}  DURATION")
    for run in runs:
        print(f"{printable(run.name):{width}}  {run.phase:{_PHASE_WIDTH}}  {_when(run.started):23}  "
              f"{format_duration(run.duration)}")
    return 0


def header_fields(run: Run, hint: str = "") -> list[tuple[str, str]]:
    """`get`'s header as (field, value) pairs, so callers and later fields can extend it;
    `hint` is what a suggested command needs to find the state directory (`--state-dir`)."""
    from argoscope.local.runs import format_duration

    end = run.finished if run.finished is not None else time.time()
    fields = [("Name", run.name), ("Namespace", run.namespace), ("Status", run.phase),
              ("Verdict", run.verdict().line)]
    if run.message:
        fields.append(("Message", run.message))
    fields += [("Started", _when(run.started)), ("Finished", _when(run.finished)),
               ("Duration", format_duration(None if run.started is None else end - run.started))]
    if run.parameters:
        fields.append(("Parameters", " ".join(f"{k}={v}" for k, v in run.parameters.items())))
    fields += [("Workflow", str(run.path)), ("Logs", str(run.log_dir))]
    # The run report lives beside the logs once `argoscope report` (or the demo) wrote it.
    report = run.log_dir / RUN_REPORT_FILE
    fields.append(("Report", str(report) if report.is_file()
                   else f"none yet ({command()} report {run.name}{hint} writes {report})"))
    return fields


def step_lines(run: Run) -> Iterator[str]:
    """The step tree: phase, duration, retries, reason, and checks that did not pass."""
    from argoscope.local.runs import format_duration

    steps = list(run.root.walk())
    width = max(len("  " * depth + step.name) for depth, step in steps) + 2
    yield f"{'STEP':{width}}{'PHASE':{_PHASE_WIDTH}}  {'DURATION':>8}  RETRIES  MESSAGE"
    for depth, step in steps:
        label = "  " * depth + (step.name if depth else run.name)
        failures = {f.step: f for f in run.failures()} if depth else {}
        reason = step.message
        if step.name in failures and not step.children:
            reason = failures[step.name].reason
            if step.message and step.message not in reason and not failures[step.name].stopped:
                reason = f"{step.message}: {reason}"
        phase = "Stopped" if step.stopped and step.phase in ("Failed", "Error") else step.phase
        retries = str(step.retries) if step.retries else ""
        yield (f"{label:{width}}{phase:{_PHASE_WIDTH}}  {format_duration(step.duration):>8}  "
               f"{retries:7}  {reason}").rstrip()
        checks = step.checks
        bad = [c for c in checks if c.status != "passed"]
        if checks:
            indent = " " * (len("  " * depth) + 2)
            yield f"{indent}checks: {len(checks) - len(bad)} of {len(checks)} passed"
            for check in bad:
                yield f"{indent}  {check.status} {check.check}: {check.describe()}"


def get_main(args: argparse.Namespace) -> int:
    """Print one run; 2 when it does not exist."""
    from argoscope.local.runs import RunNotFound, find_run

    try:
        run = find_run(args.state_dir, args.run)
    except RunNotFound as error:
        print(f"argoscope get: {error}", file=sys.stderr)
        return 2
    fields = header_fields(run, state_hint(args.state_dir))
    width = max(len(name) for name, _ in fields) + 2
    for name, value in fields:
        print(printable(f"{name + ':':{width}}{value}"))
    print()
    for line in step_lines(run):
        print(printable(line))
    return 0


def logs_main(args: argparse.Namespace) -> int:
    """Print step logs; 2 when the run or the step does not exist."""
    from argoscope.local.runs import RunNotFound, find_run

    try:
        run = find_run(args.state_dir, args.run)
    except RunNotFound as error:
        print(f"argoscope logs: {error}", file=sys.stderr)
        return 2
    steps = [step for _, step in run.root.walk() if step.attempts]
    if args.step is not None:
        chosen = [step for step in steps if step.name == args.step]
        if not chosen:
            names = ", ".join(dict.fromkeys(step.name for step in steps)) or "none"
            print(f"argoscope logs: run {run.name} has no step {args.step!r} (steps with logs: "
                  f"{names})", file=sys.stderr)
            return 2
        steps = chosen
    for step in steps:
        for attempt in step.attempts:
            for stream, path in (("stdout", attempt.stdout_path),
                                 ("stderr", attempt.stderr_path)):
                _print_log(f"{attempt.name} {stream}", path)
    return 0


def _print_log(title: str, path: Path) -> None:
    """The whole log under a header (nothing for a missing or blank one), read in fixed
    chunks: a step's log can be larger than this process should hold."""
    from argoscope.local.stepfiles import stream_text

    header = False
    last = ""
    try:
        for text in stream_text(path):
            if not header:
                if not text.strip():
                    continue  # nothing shown yet: a log of blank lines prints nothing
                print(printable(f"== {title} ({path})"))
                header = True
            # Step output as text: escape sequences shown, never obeyed by the terminal.
            sys.stdout.write(printable(text, keep_newlines=True))
            last = text
    except OSError:
        pass
    if header and not last.endswith("\n"):
        sys.stdout.write("\n")
