"""`argoscope report RUN`: write the HTML report of one run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from argoscope.local.cli import DEFAULT_STATE_DIR as _RUNNER_STATE_DIR

DEFAULT_STATE_DIR = Path(_RUNNER_STATE_DIR)


def register(subparsers: Any) -> None:
    """Add the `report` subcommand."""
    parser = subparsers.add_parser(
        "report", help="write a self-contained HTML report of one run",
        description="Write one self-contained HTML page for a run: the timeline of its steps "
                    "(retries as separate bars, failure reasons), every step's checks (with "
                    "the step reports the local runner kept), the `when:` decisions and GPU "
                    "use. Needs the reports extra: pip install 'argoscope[reports]'.")
    parser.add_argument("run", metavar="RUN",
                        help="the run (Workflow) name; in a state directory also a unique "
                             "prefix of it, or @latest")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--state-dir", type=Path, default=None,
                        help=f"the local runner's state directory (default: {DEFAULT_STATE_DIR})")
    source.add_argument("--dump", type=Path, default=None,
                        help="a `kubectl get workflows -o json` (or one Workflow) file instead")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="where to write the page (default: DIR/runs/RUN/report.html, or "
                             "RUN.html with --dump)")
    parser.add_argument("--prices", type=Path, default=None, metavar="PATH",
                        help="a price file (as the exporter's --prices): add each step's cost "
                             "and the total, pods priced at its `default` (default: no cost)")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Write the report; exit 2 naming the problem when the input or the extra is missing."""
    from argoscope.cost.prices import PriceFileError, load_prices
    from argoscope.reports.render import ReportsUnavailable, require
    from argoscope.reports.run import write_run_report
    from argoscope.reports.sources import RunNotFound

    try:
        require()
        state_dir = None if args.dump else (args.state_dir or DEFAULT_STATE_DIR)
        if args.dump is not None and not args.dump.is_file():
            raise ValueError(f"--dump {args.dump}: no such file")
        if state_dir is not None and not state_dir.is_dir():
            raise ValueError(f"--state-dir {state_dir}: no such directory")
        prices = getattr(args, "prices", None)
        book = load_prices(prices) if prices is not None else None
        path = write_run_report(state_dir, args.run, args.output, dump=args.dump, prices=book)
    except PriceFileError as error:
        print(f"argoscope report: --prices: {error}", file=sys.stderr)
        return 2
    except (ReportsUnavailable, RunNotFound, ValueError, OSError) as error:
        print(f"argoscope report: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0
