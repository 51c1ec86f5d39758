"""`python -m argoscope.pipeline <step> --data-dir DIR [...]`: run one step of the pipeline.

Exit codes: 0 done, 1 a critical check failed or the step crashed (Argo retries per the
template's `retryStrategy`), 2 bad arguments or missing inputs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from argoscope.pipeline import STEPS


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The parser: one subcommand per step, plus `rollback`."""
    parser = argparse.ArgumentParser(prog="python -m argoscope.pipeline",
                                     description="Run one step of the reference pipeline.")
    sub = parser.add_subparsers(dest="step", required=True, metavar="STEP")
    steps = {name: sub.add_parser(name, help=f"the {name} step") for name in STEPS}
    for step in steps.values():
        step.add_argument("--data-dir", type=Path, required=True,
                          help="directory the steps share (a volume on a cluster)")
        step.add_argument("--checks-path", type=Path, default=None,
                          help="where the argoscope-checks document goes (default "
                               "$ARGOSCOPE_CHECKS_PATH, else /tmp/argoscope/checks.json in "
                               "a pod, argoscope-results/checks.json elsewhere)")
    ingest = steps["data-ingestion"]
    ingest.add_argument("--dataset", default="breast_cancer", help="breast_cancer or wine")
    ingest.add_argument("--seed", type=int, default=7,
                        help="seed of the train/current split and of injected faults (default 7)")
    ingest.add_argument("--shift-features", default="",
                        help="comma-separated features or patterns (`mean *`) to shift")
    ingest.add_argument("--shift-scale", type=float, default=0.0,
                        help="shift in reference standard deviations")
    ingest.add_argument("--null-features", default="", help="features to blank (default all)")
    ingest.add_argument("--null-fraction", type=_fraction, default=0.0,
                        help="share of current-batch values blanked in --null-features, 0..1 "
                             "(default 0: none)")
    ingest.add_argument("--label-noise", type=_fraction, default=0.0,
                        help="share of training labels flipped")
    ingest.add_argument("--crash", default="none", choices=("none", "transient", "permanent"),
                        help="inject a crash: transient fails the first attempt only (a retry "
                             "recovers), permanent fails every attempt (default none)")
    ingest.add_argument("--attempt", type=int, default=None,
                        help="retry attempt (default $ARGOSCOPE_RETRY, Argo's {{retries}})")
    steps["model-training"].add_argument("--regularization", type=float, default=1.0,
                                         help="inverse regularization strength C")
    steps["model-training"].add_argument("--seed", type=int, default=7,
                                         help="seed of the model's training (default 7)")
    for name in ("model-validation", "model-deployment"):
        steps[name].add_argument("--accuracy-threshold", type=float, default=0.85,
                                 help="lowest accuracy the model gate accepts (default 0.85)")
    steps["model-deployment"].add_argument("--registry-dir", type=Path, required=True,
                                           help="the versioned model registry directory")
    rollback = sub.add_parser("rollback", help="make the previous model version current")
    rollback.add_argument("--registry-dir", type=Path, required=True,
                          help="the versioned model registry directory to roll back")
    return parser


def _checks_path(given: Path | None) -> Path:
    if given is not None:
        return given
    from argoscope.checks.emit import document_path
    from argoscope.stepenv import local_path

    return Path(local_path(str(document_path())))


def run_step(args: argparse.Namespace) -> Any:
    """Run the step `args` names; returns its summary."""
    if args.step == "rollback":
        from argoscope.pipeline import deployment

        return {"current": deployment.rollback(args.registry_dir)}
    checks_path = _checks_path(args.checks_path)
    data_dir: Path = args.data_dir
    if args.step == "data-ingestion":
        from argoscope.pipeline import ingestion
        from argoscope.pipeline.faults import Faults, patterns

        faults = Faults(patterns(args.shift_features), args.shift_scale,
                        patterns(args.null_features), args.null_fraction, args.label_noise,
                        args.crash)
        attempt = args.attempt if args.attempt is not None else int(
            os.environ.get("ARGOSCOPE_RETRY") or 0)
        return ingestion.run(data_dir, checks_path, dataset=args.dataset, seed=args.seed,
                             faults=faults, attempt=attempt)
    if args.step == "preprocessing":
        from argoscope.pipeline import preprocessing

        return {"imputed": preprocessing.run(data_dir, checks_path)}
    if args.step == "feature-engineering":
        from argoscope.pipeline import features

        return {"log1p": features.run(data_dir, checks_path)["log1p"]}
    if args.step == "model-training":
        from argoscope.pipeline import training

        return training.run(data_dir, checks_path, regularization=args.regularization,
                            seed=args.seed)
    if args.step == "model-validation":
        from argoscope.pipeline import validation

        return validation.run(data_dir, checks_path, accuracy_threshold=args.accuracy_threshold)
    from argoscope.pipeline import deployment

    return deployment.run(data_dir, args.registry_dir, checks_path,
                          accuracy_threshold=args.accuracy_threshold)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a step; print its summary as one JSON line on stdout."""
    from argoscope.checks.results import CheckFailed
    from argoscope.pipeline.faults import InjectedCrash
    from argoscope.pipeline.registry import RegistryError
    from argoscope.pipeline.storage import StepInputError

    args = build_parser().parse_args(argv)
    try:
        summary = run_step(args)
    except (StepInputError, RegistryError, ValueError) as error:
        print(f"{args.step}: {error}", file=sys.stderr)
        return 2
    except (CheckFailed, InjectedCrash) as error:
        print(f"{args.step}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(summary, sort_keys=True, default=str))
    return 0
