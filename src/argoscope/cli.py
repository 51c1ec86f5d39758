"""The `argoscope` command: one entry point, one subcommand per job.

Each subcommand lives beside the code it drives and exposes ``register(subparsers)``; the
modules named here must stay light to import (heavy imports happen inside the handlers), so
``argoscope --help`` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from argoscope import __version__

# Modules that add a subcommand, in the order `--help` lists them.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "argoscope.exporter.cli",
    "argoscope.local.cli",
    "argoscope.generate",
    "argoscope.checks.cli",
    "argoscope.demo",
    "argoscope.reports.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="argoscope",
        description="Observability and data-quality monitoring for ML pipelines on Argo Workflows.",
    )
    parser.add_argument("--version", action="version", version=f"argoscope {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
