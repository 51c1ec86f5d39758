"""Alertmanager: its command line (alone, no cluster), its alerts API and its web UI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from argoscope.harness.net import LOOPBACK, free_port, http_get
from argoscope.harness.process import Service, start

# Debian names the binary after its package; release tarballs and other distributions don't.
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")
# What Debian's Alertmanager serves at `/` instead of the UI it does not ship.
_NO_WEB_APPLICATION = "does not include a web application"


def start_alertmanager(binary: str, config_file: Path, workdir: Path,
                       extra_args: Sequence[str] = ()) -> Service:
    """Alertmanager with `config_file`, alone (no cluster), its storage under `workdir`."""
    port = free_port()
    argv = [binary, f"--config.file={config_file}", f"--storage.path={workdir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}", "--cluster.listen-address=",
            *extra_args]
    return start("alertmanager", argv, f"http://{LOOPBACK}:{port}", "/-/ready", workdir)


def alertmanager_alerts(url: str) -> list[dict[str, Any]]:
    """The alerts Alertmanager holds."""
    return list(json.loads(http_get(f"{url}/api/v2/alerts")))


def alertmanager_ui(base: str) -> str | None:
    """Alertmanager's web UI (`base/#/alerts`) when this build has one, else None."""
    try:
        body = " ".join(http_get(base + "/", timeout=2.0).split())
    except (OSError, ValueError):
        return None
    if _NO_WEB_APPLICATION in body or not body.strip():
        return None
    return base + "/#/alerts"
