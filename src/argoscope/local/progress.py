"""Live progress in the terminal: one line per step event; a redrawn status line on a TTY."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Protocol, TextIO

from argoscope.local.names import printable
from argoscope.local.runs import failure_lines, load_run
from argoscope.local.status import FAILED, STOPPED_MESSAGE, Node


class Reporter(Protocol):
    """Where the runner tells a person what happens (the terminal progress)."""

    def note(self, message: str) -> None:
        """A one-off remark (images not pulled, fields not enforced)."""

    def node_changed(self, node: Node) -> None:
        """A step started or finished."""

    def finished(self, workflow: str, phase: str, message: str, path: Path) -> None:
        """The run ended."""


class SilentReporter:
    """A reporter that says nothing (tests, embedding)."""

    def note(self, message: str) -> None:
        """Ignore."""

    def node_changed(self, node: Node) -> None:
        """Ignore."""

    def finished(self, workflow: str, phase: str, message: str, path: Path) -> None:
        """Ignore."""


_SYMBOLS = {"Succeeded": "ok  ", "Failed": "FAIL", "Error": "ERR ", "Skipped": "skip",
            "Omitted": "omit", "Running": "... ", "Pending": "wait"}
# Group nodes only frame their work; the terminal shows the work itself.
_SHOWN_TYPES = frozenset({"Pod", "Skipped"})


class TerminalProgress:
    """A `Reporter` that prints to a stream; on a TTY it keeps a live 'running:' line."""

    def __init__(self, stream: TextIO | None = None, state_hint: str = "") -> None:
        self.stream = stream or sys.stderr
        # What `argoscope get` needs after the run's name to find it (`--state-dir DIR`).
        self.state_hint = state_hint
        self.tty = self.stream.isatty()
        self.lock = threading.Lock()
        self.running: dict[str, str] = {}
        self.started = time.time()

    def _line(self, text: str) -> None:
        # Names, messages and log tails come from steps: no escape sequence reaches the terminal.
        text = printable(text, keep_newlines=True)
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(text + "\n")
        if self.tty and self.running:
            self.stream.write(f"running: {', '.join(sorted(self.running.values()))}")
        self.stream.flush()

    def note(self, message: str) -> None:
        """Print a remark once."""
        with self.lock:
            self._line(f"note: {message}")

    def node_changed(self, node: Node) -> None:
        """Print a step's start and end."""
        if node.type not in _SHOWN_TYPES:
            return
        with self.lock:
            if node.phase == "Running":
                self.running[node.id] = node.display_name
                self._line(f"[{time.time() - self.started:6.1f}s] {_SYMBOLS['Running']} "
                           f"{node.display_name}")
            elif node.finished_phase:
                self.running.pop(node.id, None)
                took = ""
                if node.started is not None and node.finished is not None and node.type == "Pod":
                    took = f" ({node.finished - node.started:.1f}s)"
                message = f": {node.message}" if node.message else ""
                symbol = _SYMBOLS.get(node.phase, node.phase)
                if node.message == STOPPED_MESSAGE:
                    symbol, message = "stop", ": stopped by user"
                self._line(f"[{time.time() - self.started:6.1f}s] "
                           f"{symbol} {node.display_name}{took}{message}")

    def finished(self, workflow: str, phase: str, message: str, path: Path) -> None:
        """Print the run's outcome and where its status lives."""
        details: list[str] = []
        if phase in FAILED:
            try:
                details = failure_lines(load_run(path), self.state_hint)
            except (OSError, ValueError, KeyError, TypeError):
                details = []  # the summary line below still says what happened
        with self.lock:
            self.running.clear()
            # Argo's run message names a node id; the failing step's lines say more.
            suffix = f": {message}" if message and (not details or message == STOPPED_MESSAGE) \
                else ""
            self._line("\n".join([f"workflow {workflow} {phase}{suffix}", *details,
                                   f"status: {path}"]))
