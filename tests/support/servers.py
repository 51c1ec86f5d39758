"""Real Prometheus, Alertmanager and exporter processes on free loopback ports, for tests.

Thin adapters over the harness the demo uses (`argoscope.harness`): each starts the process
in a temporary directory, waits on its readiness endpoint (never a fixed sleep) and stops it
on exit. Tests skip only when the binary is absent on a machine where `make test` could not
install it; CI installs them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from argoscope import harness
from argoscope.harness import Service as Process

__all__ = ["REPO", "Process", "alertmanager", "exporter", "prometheus", "query",
           "require_binary"]

REPO = Path(__file__).resolve().parents[2]


def require_binary(name: str) -> str:
    """The path of a binary `make test` installs; skip (with the reason) when absent."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing in CI: `make test` should have installed it")
        pytest.skip(f"{name} not installed (run `make test`, which installs it)")
    return path


@contextlib.contextmanager
def prometheus(config: dict[str, Any], rule_files: Sequence[Path] = (),
               extra_args: Sequence[str] = (), storage: Path | None = None,
               agent: bool = False) -> Iterator[Process]:
    """A real Prometheus with `config` and `rule_files`, lifecycle API enabled.

    `storage` is a TSDB directory to start from (for example one backfilled with
    `promtool tsdb create-blocks-from`); by default storage starts empty. `agent` starts it in
    agent mode (see `argoscope.harness.start_prometheus`).
    """
    binary = require_binary("prometheus")
    with tempfile.TemporaryDirectory(prefix="prom-") as tmp, harness.start_prometheus(
            binary, config, Path(tmp), rule_files=rule_files, storage=storage, agent=agent,
            lifecycle=True, extra_args=extra_args) as handle:
        yield handle


@contextlib.contextmanager
def alertmanager(config_file: Path, extra_args: Sequence[str] = ()) -> Iterator[Process]:
    """A real Alertmanager with the given configuration file."""
    binary = require_binary("prometheus-alertmanager")
    with tempfile.TemporaryDirectory(prefix="am-") as tmp, harness.start_alertmanager(
            binary, config_file, Path(tmp), extra_args) as handle:
        yield handle


@contextlib.contextmanager
def exporter(args: Sequence[str], cwd: Path | None = None,
             timeout: float = 60.0) -> Iterator[Process]:
    """The real `argoscope exporter` as a subprocess, listening on a free loopback port."""
    with tempfile.TemporaryDirectory(prefix="exporter-") as tmp, harness.start_exporter(
            args, Path(tmp), cwd=cwd, timeout=timeout) as handle:
        yield handle


def query(prom_url: str, promql: str) -> list[dict[str, Any]]:
    """Run an instant PromQL query; return the result vector."""
    return harness.prometheus_query(prom_url, promql)
