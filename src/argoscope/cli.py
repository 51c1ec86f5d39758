"""The `argoscope` command: one entry point, one subcommand per job.

Each subcommand lives beside the code it drives and exposes ``register(subparsers)``; the
modules named here must stay light to import (heavy imports happen inside the handlers), so
``argoscope --help`` answers at once. A handler that needs an optional dependency which is
not installed ends with exit 2 and the extra to install, never a traceback; every other input
error ends in the one shape `argoscope <command>: <what>`, exit 2 (`argoscope.cli_errors`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping, Sequence

from argoscope import __version__
from argoscope.cli_errors import Parser, deepest, describe, report

# Modules that add subcommands, in the order `--help` lists them. To add a command, add its
# module here.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "argoscope.exporter.cli",       # exporter
    "argoscope.local.cli",          # run
    "argoscope.local.inspect_cli",  # list, get, logs
    "argoscope.generate",           # generate
    "argoscope.checks.cli",         # check
    "argoscope.demo",               # demo
    "argoscope.reports.cli",        # report
    "argoscope.pipeline.rollback_cli",  # rollback
    "argoscope.slo.cli",            # slo
)

# Optional dependencies (top-level import name) and the extra that installs each.
OPTIONAL_MODULES: Mapping[str, str] = {
    "prometheus_client": "exporter", "kubernetes": "exporter", "orjson": "exporter",
    "sklearn": "pipeline", "pyarrow": "pipeline",
    "great_expectations": "engines", "evidently": "engines",
    "grafana_foundation_sdk": "dashboards",
    "jinja2": "reports", "leather": "reports",
}
# Commands whose needs span several extras name the one extra that covers them all.
COMMAND_EXTRAS: Mapping[str, str] = {"demo": "demo", "generate": "exporter,dashboards"}


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    parser = Parser(
        prog="argoscope",
        description="Observability and data-quality monitoring for ML pipelines on Argo Workflows.",
    )
    parser.add_argument("--version", action="version", version=f"argoscope {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def missing_extra(error: ModuleNotFoundError, command: str | None) -> str | None:
    """The extra that provides the module `error` names, or None for a module of no extra."""
    top = (error.name or "").split(".")[0]
    if top not in OPTIONAL_MODULES:
        return None
    return COMMAND_EXTRAS.get(command or "", OPTIONAL_MODULES[top])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    command = deepest(parser, args)
    if extras:  # a misspelled option: the usage of the sub-command it was given to
        command.error(f"unrecognized arguments: {' '.join(extras)}")
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as error:
        extra = missing_extra(error, args.command)
        if extra is None:
            raise  # not an optional dependency: a real bug, keep the traceback
        return report(f"argoscope {args.command}", f"the optional dependency {error.name!r} is "
                      f"not installed; install it with: pip install 'argoscope[{extra}]'")
    except Exception as error:
        message = describe(error)
        if message is None:
            raise  # not an input error: a real bug, keep the traceback
        return report(command.prog, message)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
