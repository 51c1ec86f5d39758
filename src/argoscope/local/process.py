"""Running one step as a local process and measuring what it used."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Argo's memory resource duration unit: seconds of 100Mi.
_MEMORY_UNIT = 100 * 2**20


@dataclass(frozen=True, slots=True)
class ProcessResult:
    """How a step process ended."""

    exit_code: int | None
    started: float
    finished: float
    cpu_seconds: float
    max_rss_bytes: int
    error: str = ""

    def resources_duration(self) -> dict[str, int]:
        """Argo-style `resourcesDuration`: cpu seconds used, and memory in 100Mi-seconds."""
        duration = max(0.0, self.finished - self.started)
        return {
            "cpu": max(1, math.ceil(self.cpu_seconds)),
            "memory": max(1, math.ceil(duration * self.max_rss_bytes / _MEMORY_UNIT)),
        }


class ProcessGroup:
    """The running step processes, so an interrupt can stop them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[int] = set()
        self.stopped = False

    def run(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], stdout: Path,
            stderr: Path, on_start: Callable[[float], None] | None = None) -> ProcessResult:
        """Run `argv` to completion; never raises for a command that cannot start."""
        with self._lock:
            if self.stopped:
                now = time.time()
                return ProcessResult(None, now, now, 0.0, 0, "stopped before start")
            started = time.time()
            try:
                with open(stdout, "wb") as out, open(stderr, "wb") as err:
                    process = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdout=out,
                                               stderr=err, stdin=subprocess.DEVNULL,
                                               start_new_session=True)
            except OSError as error:
                return ProcessResult(None, started, time.time(), 0.0, 0,
                                     f"failed to start {argv[0]!r}: {error.strerror or error}")
            self._running.add(process.pid)
        if on_start is not None:
            on_start(started)
        _, status, usage = os.wait4(process.pid, 0)
        finished = time.time()
        process.returncode = os.waitstatus_to_exitcode(status)
        with self._lock:
            self._running.discard(process.pid)
        code = process.returncode
        if code < 0:
            code = 128 - code  # killed by a signal, as a container runtime reports it
        return ProcessResult(code, started, finished, usage.ru_utime + usage.ru_stime,
                             usage.ru_maxrss * 1024)

    def stop(self) -> None:
        """Terminate every running step (its whole process group) and start no more."""
        with self._lock:
            self.stopped = True
            pids = list(self._running)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
