"""A server process: started with its output in a log file, ready when an HTTP path answers,
stopped with terminate-then-kill. A `Service` is a context manager that stops it on exit."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from argoscope.harness.net import http_ok, wait_until


class ServiceError(RuntimeError):
    """A service did not start or answer (the message names it and shows its log's tail)."""


@dataclass
class Service:
    """A started process with its base URL, working directory and log file."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path

    def log(self) -> str:
        """Everything the process wrote so far (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the process wrote."""
        return "\n".join(self.log().splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        """Terminate the process; kill it when it does not exit within `grace` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(name: str, argv: Sequence[str], url: str, ready_path: str, workdir: Path,
          timeout: float = 60.0, cwd: Path | None = None,
          env: Mapping[str, str] | None = None) -> Service:
    """Start `argv` in `cwd` (default `workdir`), its output to `workdir/<name>.log`, and
    wait until `url + ready_path` answers 2xx. ServiceError when the process exits first
    (with its log's tail), TimeoutError after `timeout` seconds; either way it is stopped."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=cwd or workdir,
                                   env=dict(env) if env is not None else None)
    service = Service(name, url, process, workdir, log_path)

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


def find_binary(names: Sequence[str]) -> str | None:
    """The first of `names` on PATH, else None."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None
