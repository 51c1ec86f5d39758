"""The exporter: `argoscope exporter` as a subprocess of this Python, on a free port."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from argoscope.harness.net import LOOPBACK, free_port
from argoscope.harness.process import Service, start


def start_exporter(args: Sequence[str], workdir: Path, cwd: Path | None = None,
                   timeout: float = 60.0) -> Service:
    """`argoscope exporter --listen 127.0.0.1:PORT ARGS...` (say `--source local:DIR`), its
    log under `workdir`, ready once `/readyz` answers (its sources listed once)."""
    port = free_port()
    argv = [sys.executable, "-m", "argoscope.cli", "exporter",
            "--listen", f"{LOOPBACK}:{port}", *args]
    return start("exporter", argv, f"http://{LOOPBACK}:{port}", "/readyz", workdir,
                 timeout=timeout, cwd=cwd)
