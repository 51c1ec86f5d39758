"""Container paths on this machine: volume mounts and output-parameter files.

A step's container would see `/data` (a volume) or write `/tmp/out/accuracy` (an output
parameter). Locally each such container path maps to a directory under the state directory;
the runner rewrites those exact paths where they appear in `command`, `args`, `env` values,
`workingDir` and a script's `source`, and also passes the map to the process as
`ARGOSCOPE_PATH_MAP` (JSON) for code that builds paths itself.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any


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


PATH_MAP_ENV = "ARGOSCOPE_PATH_MAP"


def local_path(container_path: str, environ: Mapping[str, str] | None = None) -> str:
    """Where step code should read or write `container_path`.

    Under `argoscope run` this follows the runner's `ARGOSCOPE_PATH_MAP` (volume mounts and
    output-parameter files); in a real container, or for a path the map does not cover, it
    returns the path unchanged. Step code that builds paths itself (a library default such as
    `/tmp/argoscope/checks.json`) calls this so the same code runs in both places.
    """
    raw = (os.environ if environ is None else environ).get(PATH_MAP_ENV)
    if not raw:
        return container_path
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError:
        return container_path
    if not isinstance(entries, dict):
        return container_path
    for prefix in sorted(entries, key=len, reverse=True):
        if container_path == prefix:
            return str(entries[prefix])
        if prefix != "/" and container_path.startswith(prefix.rstrip("/") + "/"):
            return str(entries[prefix]) + container_path[len(prefix.rstrip("/")):]
    return container_path
