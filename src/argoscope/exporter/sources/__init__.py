"""Where objects come from: the Kubernetes API, a file or directory dump, a local state dir.

Every source feeds the same `Model` with Kubernetes-shaped objects and implements `Source`.
"""

from __future__ import annotations

import threading
from typing import Protocol


class SourceError(Exception):
    """A source that cannot be used at all (missing path, unparsable file, bad config)."""


class Source(Protocol):
    """A producer of Workflow and Pod objects for the model."""

    name: str

    def snapshot(self) -> None:
        """Load everything once, counting every finished object (for `--once`)."""

    def run(self, stop: threading.Event) -> None:
        """Follow the source live until `stop` is set; never raises for bad objects."""
