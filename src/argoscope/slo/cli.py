"""`argoscope slo generate SPEC... [-o FILE] [--check]`: SLO specs to a Prometheus rule file.

A bad spec ends with one line on stderr naming the file, the SLO and the field, and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

PROG = "argoscope slo"


def _generate(args: argparse.Namespace) -> int:
    # Imported here: the exporter's families (prometheus_client) load only when it runs.
    from argoscope.slo.load import load
    from argoscope.slo.model import SpecError
    from argoscope.slo.rules import render

    try:
        objectives = load(args.spec)
    except SpecError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{len(objectives)} SLO(s) valid in {', '.join(map(str, args.spec))}",
              file=sys.stderr)
        return 0
    text = render(objectives, [str(path) for path in args.spec])
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"{PROG}: -o {args.output}: {error.strerror or error}", file=sys.stderr)
        return 2
    return 0


def register(subparsers: Any) -> None:
    """Add `argoscope slo` and its `generate` subcommand."""
    parser = subparsers.add_parser(
        "slo", help="service level objectives: generate error-budget rules from specs",
        description="Service level objectives for pipelines: error budgets and multi-window, "
                    "multi-burn-rate alerts generated from a spec (docs/slo.md).")
    commands = parser.add_subparsers(dest="slo_command", metavar="COMMAND")
    generate = commands.add_parser(
        "generate", help="write the Prometheus rule file for SLO specs",
        description="Read SLO specs (argoscope's short form and OpenSLO v1 `kind: SLO` "
                    "documents) and write one Prometheus rule file: error ratios per window, "
                    "the error budget left and the ArgoscopeErrorBudgetBurn alert. A bad spec "
                    "exits 2 with one line naming the file, the SLO and the field.")
    generate.add_argument("spec", nargs="+", type=Path, metavar="SPEC",
                          help="SLO spec files (YAML; several documents per file allowed)")
    generate.add_argument("-o", "--output", type=Path, default=None, metavar="FILE",
                          help="write the rules here (default: standard output)")
    generate.add_argument("--check", action="store_true",
                          help="only validate the specs; write nothing")
    generate.set_defaults(handler=_generate)

    def _usage(_: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    parser.set_defaults(handler=_usage)
