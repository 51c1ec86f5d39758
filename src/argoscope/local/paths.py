"""Container paths on this machine: volume mounts and output-parameter files.

A step's container would see `/data` (a volume) or write `/tmp/out/accuracy` (an output
parameter). Locally each such container path maps to a directory under the state directory;
the runner rewrites those exact paths where they appear in `command`, `args`, `env` values,
`workingDir` and a script's `source`, and also passes the map to the process as
`ARGOSCOPE_PATH_MAP` (JSON) for code that builds paths itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from argoscope.stepenv import PATH_MAP_ENV, local_path

__all__ = ["PATH_MAP_ENV", "PathMap", "local_path"]


class PathMap:
    """Container path prefixes mapped to local paths; the longest prefix wins."""

    def __init__(self, node_root: Path) -> None:
        self.node_root = node_root
        self.entries: dict[str, Path] = {}

    def mount(self, container_path: str, local: Path) -> None:
        """Map a directory (a volume mount) and everything under it."""
        self.entries[container_path.rstrip("/") or "/"] = local

    def resolve(self, container_path: str) -> Path:
        """Where a container path lives here: under a mount, else under the node's own root."""
        for prefix in sorted(self.entries, key=len, reverse=True):
            if container_path == prefix or container_path.startswith(prefix.rstrip("/") + "/"):
                rest = container_path[len(prefix):].lstrip("/")
                return self.entries[prefix] / rest if rest else self.entries[prefix]
        return self.node_root / container_path.lstrip("/")

    def add_file(self, container_path: str) -> Path:
        """Map one file (an output parameter's path) and create its parent directory."""
        local = self.resolve(container_path)
        local.parent.mkdir(parents=True, exist_ok=True)
        self.entries[container_path] = local
        return local

    def rewrite(self, text: str) -> str:
        """Replace every mapped container path that stands alone (not inside a longer path)."""
        for prefix in sorted(self.entries, key=len, reverse=True):
            if prefix == "/":
                continue
            pattern = re.compile(r"(?<![\w./-])" + re.escape(prefix) + r"(?![\w.-])")
            local = str(self.entries[prefix])
            text = pattern.sub(lambda _, local=local: local, text)  # type: ignore[misc]
        return text

    def rewrite_all(self, value: Any) -> Any:
        """`rewrite` applied to every string inside a JSON-like value."""
        if isinstance(value, str):
            return self.rewrite(value)
        if isinstance(value, list):
            return [self.rewrite_all(item) for item in value]
        if isinstance(value, Mapping):
            return {key: self.rewrite_all(item) for key, item in value.items()}
        return value

    def as_env(self) -> dict[str, str]:
        """The map as JSON-ready strings, container path to local path."""
        return {prefix: str(local) for prefix, local in sorted(self.entries.items())}


