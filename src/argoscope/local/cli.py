"""`argoscope run FILE.yaml [-p name=value]... [--state-dir DIR] [--parallelism N]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from argoscope.local.names import printable
from argoscope.local.summary import DEFAULT_STATE_DIR as DEFAULT_STATE_DIR


def _parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    return name, value


def register(subparsers: Any) -> None:
    """Add the `run` subcommand."""
    parser = subparsers.add_parser(
        "run", help="run an Argo Workflow or WorkflowTemplate on this machine",
        description="Run an Argo Workflow or WorkflowTemplate's DAG as local processes and "
                    "record it in a state directory as Argo would (the exporter reads it with "
                    "--source local:DIR). Exits 0 when the run succeeds, 1 when it fails, 2 when "
                    "the manifest cannot run locally.")
    parser.add_argument("file", type=Path, help="YAML file with a Workflow or WorkflowTemplate")
    parser.add_argument("-p", "--parameter", dest="parameters", action="append", default=[],
                        type=_parameter, metavar="NAME=VALUE",
                        help="set a workflow parameter (repeatable)")
    parser.add_argument("--state-dir", type=Path, default=Path(DEFAULT_STATE_DIR),
                        help=f"where runs are recorded (default {DEFAULT_STATE_DIR})")
    parser.add_argument("--parallelism", type=int, default=None,
                        help="most steps running at once (default: spec.parallelism, else "
                             "the CPU count)")
    parser.add_argument("--namespace", default=None,
                        help="namespace written into the objects (default argo-local)")
    parser.add_argument("--template-file", type=Path, action="append", default=[],
                        help="file holding the WorkflowTemplate a Workflow references "
                             "(default: the same file, then its directory)")
    parser.add_argument("--prices", type=Path, default=None, metavar="PATH",
                        help="a price file (as the exporter's --prices): print each step's "
                             "cost and the total once the run ends, this machine priced at "
                             "its `default` (default: no cost)")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Run the manifest; 0 on success, 1 on a failed run, 2 on a manifest that cannot run."""
    from argoscope.local.manifest import ManifestError, load
    from argoscope.local.progress import TerminalProgress
    from argoscope.local.runner import DEFAULT_NAMESPACE, LocalRun, RunOptions
    from argoscope.local.summary import state_hint

    if args.parallelism is not None and args.parallelism < 1:
        print("argoscope run: --parallelism must be at least 1", file=sys.stderr)
        return 2
    book = None
    if getattr(args, "prices", None) is not None:
        from argoscope.cost.prices import PriceFileError, load_prices

        try:  # before the run: a bad price file must not cost a whole run
            book = load_prices(args.prices)
        except PriceFileError as error:
            print(f"argoscope run: --prices: {error}", file=sys.stderr)
            return 2
    try:
        manifest = load(args.file, args.template_file)
        options = RunOptions(state_dir=args.state_dir, parameters=dict(args.parameters),
                             parallelism=args.parallelism,
                             namespace=args.namespace or DEFAULT_NAMESPACE)
        hint = state_hint(args.state_dir)
        run = LocalRun(manifest, options, TerminalProgress(state_hint=hint))
    except ManifestError as error:
        print(f"argoscope run: {printable(str(error))}", file=sys.stderr)
        return 2
    phase = run.run()
    if book is not None:
        _print_cost(args.state_dir, run.name, book)
    summarise(run.workflow_path, args.state_dir, hint, prices=book)
    return 0 if phase == "Succeeded" else 1


def _print_cost(state_dir: Path, name: str, book: Any) -> None:
    """The run's cost per step and in total, read back from the state directory."""
    import json

    from argoscope.cost.runs import format_cost, run_cost, state_pods

    workflow = json.loads((state_dir / "workflows" / f"{name}.json").read_text(encoding="utf-8"))
    print(format_cost(run_cost(workflow, state_pods(state_dir, name), book)))


def summarise(workflow_path: Path, state_dir: Path, hint: str, *, prices: Any = None) -> None:
    """Write the run's HTML report (priced with `prices`, a PriceBook) and print the summary
    the demo prints for each run: the verdict, failed checks with value against threshold, the
    failing step, the report."""
    from argoscope.local.runs import load_run
    from argoscope.local.summary import next_line, run_block

    page: Path | None = None
    note = ""
    try:
        from argoscope.reports.render import ReportsUnavailable
        from argoscope.reports.run import write_run_report
    except ModuleNotFoundError as error:  # the base install: the summary stands without it
        note = f"report: not written ({error.name} is missing: pip install 'argoscope[reports]')"
    else:
        try:
            page = write_run_report(state_dir, workflow_path.stem, prices=prices)
        except ReportsUnavailable as error:
            note = f"report: not written ({error})"
        except (OSError, ValueError, LookupError) as error:
            note = f"report: not written ({type(error).__name__}: {error})"
    try:
        run = load_run(workflow_path, state_dir)
    except (OSError, ValueError, KeyError, TypeError):
        return  # the progress lines above already said how the run ended
    lines = ["", "== summary", *run_block(run, hint, page), *([f"  {note}"] if note else []),
             next_line(run, hint)]
    print(printable("\n".join(lines), keep_newlines=True), flush=True)
