"""`argoscope demo [--serve] [--state-dir DIR] [--keep-state]`: the whole stack on one machine.

Runs the reference pipeline (`manifests/pipeline/`) three times at once with the local
runner: a healthy run that deploys, a drifted run whose drift check and accuracy gate fail so
the deployment is skipped, and a faulty run whose ingestion crashes until its retries run
out. The state directory starts clean unless --keep-state. The exporter follows it
(`--source local:DIR`); Prometheus and Alertmanager run with the shipped rules and
configuration when they are installed. Then it prints what happened, why each failure
happened and where to look next; `--serve` keeps the services running until Ctrl-C and prints
their URLs, each probed first, and without it the demo says they stopped.

Each concern has its module: `state` (the checkout and state directory), `services` (what
the demo starts and stops, through `argoscope.harness`), `scenarios` (the runs), `polling`
(waiting for metrics and alerts), `summary` (what it prints) and `session` (the order).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

from argoscope.demo.scenarios import EXPECTED_ALERTS, PIPELINE, SCENARIOS, RunReport, Scenario
from argoscope.demo.session import Demo
from argoscope.demo.state import (
    DEFAULT_STATE_DIR,
    STATE_MARKER,
    StateDirError,
    find_repo,
    prepare_state_dir,
)
from argoscope.harness import ServiceError

__all__ = ["EXPECTED_ALERTS", "PIPELINE", "SCENARIOS", "STATE_MARKER", "Demo", "RunReport",
           "Scenario", "StateDirError", "find_repo", "main", "prepare_state_dir", "register"]

# What the demo imports itself or runs in its steps and exporter: the `demo` extra.
REQUIRED_MODULES = ("prometheus_client", "kubernetes", "sklearn", "pyarrow")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt

def register(subparsers: Any) -> None:
    """Add the `demo` subcommand."""
    parser = subparsers.add_parser(
        "demo", help="run the reference pipeline three times with the whole stack locally",
        description="Run the reference pipeline healthy, drifted and faulty with the local "
                    "runner, the exporter following the runs, and Prometheus and Alertmanager "
                    "(when installed) evaluating the shipped rules; print a summary. Each demo "
                    "starts from a clean state directory unless --keep-state.")
    parser.add_argument("--serve", action="store_true",
                        help="keep the exporter, Prometheus and Alertmanager running until "
                             "Ctrl-C, and print their (checked) URLs")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR,
                        help=f"where runs, the model registry and service data go "
                             f"(default {DEFAULT_STATE_DIR}); cleared first unless "
                             "--keep-state")
    parser.add_argument("--keep-state", action="store_true",
                        help="keep the runs and model registry of earlier demos in the state "
                             "directory (the summary still shows only this demo's runs)")
    parser.set_defaults(handler=main)


def check_dependencies() -> None:
    """ModuleNotFoundError naming the first module of the `demo` extra that is missing."""
    for module in REQUIRED_MODULES:
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)


def main(args: argparse.Namespace) -> int:
    """Run the demo; 0 when every run ended as its scenario intends."""
    import signal

    check_dependencies()
    try:
        prepare_state_dir(args.state_dir, args.keep_state)
    except StateDirError as error:
        print(f"argoscope demo: {error}", file=sys.stderr)
        return 2
    # A SIGTERM stops the demo like Ctrl-C does, so the services it started stop with it.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        with Demo(args.state_dir) as demo:
            demo.run_scenarios()
            report_note = demo.write_reports()
            if report_note is not None:
                demo.say(report_note)
            demo.wait_for_metrics()
            for line in demo.summary_lines():
                demo.say(line)
            if args.serve:
                for line in demo.service_lines(serving=True):
                    demo.say(line)
                demo.say(f"\ndemo finished in {time.monotonic() - started:.0f}s")
                demo.say("serving; press Ctrl-C to stop")
                try:
                    while True:
                        time.sleep(3600)
                except KeyboardInterrupt:
                    demo.say("stopping")
        if not args.serve:
            for line in demo.service_lines(serving=False):
                demo.say(line)
            demo.say(f"\ndemo finished in {time.monotonic() - started:.0f}s")
    except (FileNotFoundError, ServiceError, TimeoutError) as error:
        print(f"argoscope demo: {error}", file=sys.stderr)
        return 1
    expected = {"healthy": "Succeeded", "drifted": "Succeeded", "faulty": "Failed"}
    return 0 if all(expected[r.scenario.name] == r.phase for r in demo.reports) else 1
