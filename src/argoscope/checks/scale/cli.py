"""`argoscope check expect|drift --engine spark|dask`: Parquet files or directories at scale.

PATH is a Parquet file or a directory of Parquet files, read by the engine itself (never by
pandas). `--master URL` connects to a Spark cluster (default: the active session, else a
local one); `--scheduler ADDRESS` to a Dask scheduler (default: a local cluster). What this
command starts it stops; a session or client it found running it leaves running.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argoscope.checks.results import CheckInputError

if TYPE_CHECKING:
    from argoscope.checks.results import CheckResult

Reader = Callable[[str], Any]
# `checks.cli._finish`: results, --out, the command's name for error lines.
Finish = Callable[["list[CheckResult]", "str | None", str], int]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--master` and `--scheduler`, for `--engine spark` and `--engine dask`."""
    parser.add_argument("--master", help="with --engine spark: the Spark master URL "
                        "(default: the active session, else local[*])")
    parser.add_argument("--scheduler", help="with --engine dask: the Dask scheduler address "
                        "(default: a local cluster)")


def _existing(path_text: str) -> str:
    path = Path(path_text)
    if not path.exists():
        raise CheckInputError(f"{path}: file or directory not found")
    if path.is_dir() and not any(path.rglob("*.parquet")) and not any(path.rglob("*.pq")):
        raise CheckInputError(f"{path}: no Parquet files in this directory")
    return str(path)


def _needs(module: str, extra: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise CheckInputError(f"--engine {extra} needs {module}, which is not installed: "
                              f"pip install 'argoscope[{extra}]'")


@contextlib.contextmanager
def spark_reader(master: str | None) -> Iterator[Reader]:
    """Parquet through a Spark session: the active one, or one this command starts."""
    _needs("pyspark", "spark")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    session = active if active is not None and master is None else None
    if session is None:
        # Local Python workers must run this interpreter, which has argoscope and pandas.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        session = (SparkSession.builder.master(master or "local[*]")
                   .appName("argoscope-check").config("spark.ui.enabled", "false")
                   .getOrCreate())

    def read(path_text: str) -> Any:
        path = _existing(path_text)
        try:
            return session.read.parquet(path)
        except Exception as exc:  # Spark's AnalysisException and friends: bad input
            raise CheckInputError(f"{path}: cannot read as Parquet ({str(exc).splitlines()[0]})"
                                  ) from None

    try:
        yield read
    finally:
        if session is not active:
            session.stop()


@contextlib.contextmanager
def dask_reader(scheduler: str | None) -> Iterator[Reader]:
    """Parquet through Dask, on the scheduler named or on a local cluster this starts."""
    _needs("dask", "dask")
    _needs("distributed", "dask")
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if scheduler:
            stack.enter_context(Client(scheduler, set_as_default=True))  # type: ignore[no-untyped-call]
        else:
            cluster = stack.enter_context(LocalCluster(dashboard_address=None))  # type: ignore[no-untyped-call]
            stack.enter_context(Client(cluster, set_as_default=True))  # type: ignore[no-untyped-call]

        def read(path_text: str) -> Any:
            path = _existing(path_text)
            try:
                # Strings stay Python objects, as pandas reads them.
                with dask.config.set({"dataframe.convert-string": False}):
                    return dd.read_parquet(path)
            except Exception as exc:
                raise CheckInputError(f"{path}: cannot read as Parquet ({exc})") from None

        with dask.config.set({"dataframe.convert-string": False}):
            yield read


def reader(args: argparse.Namespace) -> contextlib.AbstractContextManager[Reader]:
    """The engine's Parquet reader for a parsed `check` command line."""
    if args.engine == "spark":
        return spark_reader(args.master)
    return dask_reader(args.scheduler)


def run_expect(args: argparse.Namespace, finish: Finish,
               parameters: Callable[[list[str]], dict[str, Any]]) -> int:
    """`argoscope check expect PATH --suite SUITE --engine spark|dask` (`parameters` reads
    `--parameter NAME=VALUE`, as the pandas command does)."""
    from argoscope.checks.expect import validate
    from argoscope.cli_errors import report

    command = "argoscope check expect"
    try:
        given = parameters(args.parameter)
        with reader(args) as read:
            results = validate(read(args.data), args.suite, args.engine,
                               trust_suite=args.trust_suite, parameters=given)
    except CheckInputError as exc:
        return report(command, exc)
    return finish(results, args.out, command)


def run_drift(args: argparse.Namespace, finish: Finish,
              column_types: Callable[[str | None], dict[str, str] | None]) -> int:
    """`argoscope check drift --reference PATH --current PATH --engine spark|dask`."""
    from argoscope.checks._engine import DriftOptions, drift_engine
    from argoscope.checks.api import drift_result
    from argoscope.cli_errors import report

    command = "argoscope check drift"

    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    try:
        options = DriftOptions(columns, args.method, args.threshold,
                               drift_share=args.drift_share,
                               column_types=column_types(args.column_types))
        with reader(args) as read:
            features = drift_engine(args.engine).run(read(args.reference), read(args.current),
                                                     options)
    except CheckInputError as exc:
        return report(command, exc)
    return finish([drift_result(args.name, features, args.drift_share, "critical")], args.out,
                  command)
