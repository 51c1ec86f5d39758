"""Real Prometheus, Alertmanager and exporter processes on free loopback ports.

Each helper starts the process, waits on its readiness endpoint (never a fixed sleep) and
stops it on exit. Tests skip only when the binary is absent on a machine where `make test`
could not install it; CI installs them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.net import free_port, http_get, http_ok, wait_until

REPO = Path(__file__).resolve().parents[2]


def require_binary(name: str) -> str:
    """The path of a binary `make test` installs; skip (with the reason) when absent."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing in CI: `make test` should have installed it")
        pytest.skip(f"{name} not installed (run `make test`, which installs it)")
    return path


@dataclass
class Process:
    """A started server: its base URL and the process handle."""

    url: str
    process: subprocess.Popen[bytes]
    workdir: Path

    def log(self) -> str:
        """What the process wrote so far (for failure messages)."""
        path = self.workdir / "output.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def _running(cmd: Sequence[str], url: str, ready_path: str, workdir: Path,
             timeout: float = 60.0, env: dict[str, str] | None = None) -> Iterator[Process]:
    with open(workdir / "output.log", "wb") as log:
        process = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
                                   env=env)
    handle = Process(url, process, workdir)
    try:
        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited early:\n{handle.log()}")
            return http_ok(url + ready_path)

        wait_until(ready, timeout=timeout, what=f"{cmd[0]} at {url}{ready_path}")
        yield handle
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def prometheus(config: dict[str, Any], rule_files: Sequence[Path] = (),
               extra_args: Sequence[str] = (), storage: Path | None = None,
               agent: bool = False) -> Iterator[Process]:
    """A real Prometheus with `config` (rule_files are copied beside it).

    `storage` is a TSDB directory to start from (for example one backfilled with
    `promtool tsdb create-blocks-from`); by default storage starts empty. `agent` starts it in
    agent mode (`--enable-feature=agent`): it scrapes and remote-writes, and keeps no TSDB, no
    rules and no query API, as an edge Prometheus of a multi-cluster setup.
    """
    binary = require_binary("prometheus")
    with tempfile.TemporaryDirectory(prefix="prom-") as tmp:
        workdir = Path(tmp)
        config = dict(config)
        names = []
        for rule_file in rule_files:
            target = workdir / rule_file.name
            shutil.copy(rule_file, target)
            names.append(str(target))
        if names:
            config["rule_files"] = names
        (workdir / "prometheus.yml").write_text(json.dumps(config))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        storage_args = (["--enable-feature=agent", f"--storage.agent.path={workdir / 'wal'}"]
                        if agent else [f"--storage.tsdb.path={storage or workdir / 'data'}"])
        cmd = [binary, f"--config.file={workdir / 'prometheus.yml'}", *storage_args,
               f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle",
               *extra_args]
        with _running(cmd, url, "/-/ready", workdir) as handle:
            yield handle


@contextlib.contextmanager
def alertmanager(config_file: Path, extra_args: Sequence[str] = ()) -> Iterator[Process]:
    """A real Alertmanager with the given configuration file."""
    binary = require_binary("prometheus-alertmanager")
    with tempfile.TemporaryDirectory(prefix="am-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [binary, f"--config.file={config_file}", f"--storage.path={workdir / 'data'}",
               f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
               *extra_args]
        with _running(cmd, url, "/-/ready", workdir) as handle:
            yield handle


@contextlib.contextmanager
def exporter(args: Sequence[str], cwd: Path | None = None,
             timeout: float = 60.0) -> Iterator[Process]:
    """The real `argoscope exporter` as a subprocess, listening on a free loopback port."""
    with tempfile.TemporaryDirectory(prefix="exporter-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "argoscope.cli", "exporter",
               "--listen", f"127.0.0.1:{port}", *args]
        env = dict(os.environ)
        with _running(cmd, url, "/readyz", cwd or workdir, timeout=timeout, env=env) as handle:
            handle.workdir = workdir if cwd is None else cwd
            yield handle


def query(prom_url: str, promql: str) -> list[dict[str, Any]]:
    """Run an instant PromQL query; return the result vector."""
    url = f"{prom_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    body = json.loads(http_get(url))
    assert body["status"] == "success", body
    return list(body["data"]["result"])
