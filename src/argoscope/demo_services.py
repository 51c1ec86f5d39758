"""Processes the demo starts: the exporter, Prometheus and Alertmanager on loopback ports.

Each is started on a free port, waited on by polling its readiness endpoint (never a fixed
sleep) and stopped cleanly (terminate, then kill after a grace period).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")


class ServiceError(Exception):
    """A service did not start (the message names it and shows its log's tail)."""


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 5.0) -> str:
    """The body of a GET; raises OSError (urllib's errors included) on failure."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode("utf-8"))


def http_ok(url: str) -> bool:
    """Whether a GET answers 2xx."""
    try:
        http_get(url, timeout=2.0)
    except (OSError, ValueError):
        return False
    return True


def wait_until(predicate: Callable[[], bool], timeout: float, what: str,
               interval: float = 0.1) -> None:
    """Poll `predicate` until true; TimeoutError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


@dataclass
class Service:
    """A started process with its base URL and log file."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the process wrote."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        """Terminate the process; kill it when it does not exit within `grace` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(name: str, argv: Sequence[str], url: str, ready_path: str, workdir: Path,
          timeout: float = 60.0) -> Service:
    """Start `argv` (output to `workdir/<name>.log`) and wait until `url+ready_path` answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=workdir)
    service = Service(name, url, process, log_path)

    def ready() -> bool:
        if process.poll() is not None:
            raise ServiceError(f"{name} exited with code {process.returncode}:\n"
                               f"{service.log_tail()}")
        return http_ok(url + ready_path)

    try:
        wait_until(ready, timeout, f"{name} at {url}{ready_path}")
    except BaseException:
        service.stop()
        raise
    return service


def start_exporter(state_dir: Path, workdir: Path) -> Service:
    """`argoscope exporter --source local:STATE_DIR` on a free loopback port."""
    port = free_port()
    argv = [sys.executable, "-m", "argoscope.cli", "exporter", "--source", f"local:{state_dir}",
            "--listen", f"{LOOPBACK}:{port}"]
    return start("exporter", argv, f"http://{LOOPBACK}:{port}", "/readyz", workdir)


def find_binary(names: Sequence[str]) -> str | None:
    """The first of `names` on PATH, else None."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def prometheus_config(exporter_url: str, rule_files: Sequence[Path],
                      alertmanager_url: str | None, interval: str = "1s") -> dict[str, Any]:
    """A Prometheus configuration scraping the exporter and evaluating the rules every
    `interval` (short, so a demo's alerts show within seconds)."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [{"job_name": "argoscope", "static_configs": [
            {"targets": [urllib.parse.urlsplit(exporter_url).netloc]}]}],
        "rule_files": [str(path) for path in rule_files],
    }
    if alertmanager_url:
        config["alerting"] = {"alertmanagers": [{"static_configs": [
            {"targets": [urllib.parse.urlsplit(alertmanager_url).netloc]}]}]}
    return config


def start_prometheus(binary: str, config: dict[str, Any], workdir: Path) -> Service:
    """Prometheus with `config`, its storage under `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "prometheus.yml"
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")  # JSON is YAML
    port = free_port()
    argv = [binary, f"--config.file={config_path}", f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}"]
    return start("prometheus", argv, f"http://{LOOPBACK}:{port}", "/-/ready", workdir)


def start_alertmanager(binary: str, config_file: Path, workdir: Path) -> Service:
    """Alertmanager with `config_file`, alone (no cluster), its storage under `workdir`."""
    port = free_port()
    argv = [binary, f"--config.file={config_file}", f"--storage.path={workdir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}", "--cluster.listen-address="]
    return start("alertmanager", argv, f"http://{LOOPBACK}:{port}", "/-/ready", workdir)


def prometheus_query(url: str, promql: str) -> list[dict[str, Any]]:
    """An instant query's result vector."""
    body = json.loads(http_get(f"{url}/api/v1/query?" + urllib.parse.urlencode(
        {"query": promql})))
    if body.get("status") != "success":
        raise ServiceError(f"query {promql!r} failed: {body}")
    return list(body["data"]["result"])


def prometheus_alerts(url: str) -> list[dict[str, Any]]:
    """Prometheus' active alerts (pending and firing)."""
    body = json.loads(http_get(f"{url}/api/v1/alerts"))
    return list(body.get("data", {}).get("alerts", []))


def alertmanager_alerts(url: str) -> list[dict[str, Any]]:
    """The alerts Alertmanager holds."""
    return list(json.loads(http_get(f"{url}/api/v2/alerts")))


# Prometheus' own UI moved: official 2.x builds serve `/alerts`; Debian's 2.42 package serves
# only the classic UI under `/classic/`. The first page that answers is the one to show.
PROMETHEUS_ALERTS_PAGES = ("/alerts", "/classic/alerts")
PROMETHEUS_GRAPH_PAGES = ("/graph", "/classic/graph")
# What Debian's Alertmanager serves at `/` instead of the UI it does not ship.
_NO_WEB_APPLICATION = "does not include a web application"


def first_page(base: str, paths: Sequence[str]) -> str | None:
    """Where the first of `base + path` that answers 2xx with a body ends up (after
    redirects, so the URL shown is the page itself), else None."""
    for path in paths:
        try:
            with urllib.request.urlopen(base + path, timeout=2.0) as response:
                body = response.read()
                final = str(response.geturl())
        except (OSError, ValueError):
            continue
        if body.strip():
            return final
    return None


def alertmanager_ui(base: str) -> str | None:
    """Alertmanager's web UI (`base/#/alerts`) when this build has one, else None."""
    try:
        body = " ".join(http_get(base + "/", timeout=2.0).split())
    except (OSError, ValueError):
        return None
    if _NO_WEB_APPLICATION in body or not body.strip():
        return None
    return base + "/#/alerts"
