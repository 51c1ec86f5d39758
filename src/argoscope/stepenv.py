"""The step side of the local runner's path map: where step code reads or writes a container
path. A neutral module (standard library only), so the check library installed in every
pipeline step finds its default results path without importing the runner
(`argoscope.local`); the runner writes the map (`argoscope.local.paths.PathMap`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

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
