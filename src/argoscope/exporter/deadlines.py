"""Whole-exchange deadlines for sockets: one watchdog thread cuts a socket when its time is up.

A socket timeout bounds one read, not an exchange: a peer that sends one byte just before each
timeout (a slowloris client, a dcgm-exporter dripping its page) holds the exchange for ever, and
`http.client` may even swap the socket a timeout was set on. A deadline armed here is kept by
a watchdog, whatever the code reading the socket does: when it passes, the socket is shut down,
so every blocked read or write on it returns at once (EOF or an error), and the exchange is
marked `expired` so the reader can tell a cut from a peer that finished.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(slots=True)
class Armed:
    """One armed deadline; `expired` turns True when the watchdog cut the socket."""

    sock: socket.socket
    deadline: float
    expired: bool = False
    disarmed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class Watchdog:
    """Cuts sockets whose deadline has passed; one daemon thread, started on first use."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Armed]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, sock: socket.socket, deadline: float) -> Armed:
        """Watch `sock` until `deadline` (a `time.monotonic()` value) or until disarmed."""
        armed = Armed(sock, deadline)
        with self._cond:
            heapq.heappush(self._heap, (deadline, next(self._order), armed))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()
        return armed

    @staticmethod
    def disarm(armed: Armed) -> None:
        """The exchange is over: the watchdog leaves the socket alone from now on."""
        with armed.lock:
            armed.disarmed = True

    @contextlib.contextmanager
    def armed(self, sock: socket.socket, deadline: float) -> Iterator[Armed]:
        """`arm` for the length of a `with` block."""
        handle = self.arm(sock, deadline)
        try:
            yield handle
        finally:
            self.disarm(handle)

    def pending(self) -> int:
        """Deadlines armed and not yet fired or swept (for tests and introspection)."""
        with self._cond:
            return sum(1 for _, _, armed in self._heap if not armed.disarmed)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                deadline, _, armed = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0 and not armed.disarmed:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            _cut(armed)


def _cut(armed: Armed) -> None:
    with armed.lock:
        if armed.disarmed:
            return
        armed.expired = True
        # shutdown, not close: the owner still holds the descriptor and closes it itself;
        # shutdown wakes every read and write blocked on it, in any thread.
        with contextlib.suppress(OSError):
            armed.sock.shutdown(socket.SHUT_RDWR)


# One watchdog for the process: deadlines are cheap entries in its heap.
WATCHDOG = Watchdog()
