"""`argoscope rollback --registry-dir DIR`: make the model registry's previous version current.

The same as `python -m argoscope.pipeline rollback`, under the command a person already uses
(the demo's registry is `demo-state/volumes/argoscope-model-registry`). The files of the
version rolled back stay, so a rollback can itself be undone by deploying again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `rollback` subcommand."""
    parser = subparsers.add_parser(
        "rollback", help="make the model registry's previous version current",
        description="Make the previously live model version current again in a registry "
                    "the reference pipeline's deployment step writes; its files are kept. "
                    "Prints the version now current; exit 2 when there is none to go back to.")
    parser.add_argument("--registry-dir", type=Path, required=True,
                        help="the registry directory (the demo's: "
                             "demo-state/volumes/argoscope-model-registry)")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Roll back; print the version now current; 2 naming the problem otherwise."""
    from argoscope.pipeline.deployment import rollback
    from argoscope.pipeline.registry import RegistryError
    from argoscope.pipeline.storage import StepInputError

    try:
        current = rollback(args.registry_dir)
    except (RegistryError, StepInputError, OSError, ValueError) as error:
        print(f"argoscope rollback: {error}", file=sys.stderr)
        return 2
    print(f"current version: {current} ({args.registry_dir})")
    return 0
