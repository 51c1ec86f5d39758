"""Where a run report reads a run from: the local runner's state directory, or a dump.

A dump is `kubectl get workflows -o json` (a List), one Workflow object, or the same as YAML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class RunNotFound(LookupError):
    """The run is not in the state directory or the dump."""


def load_workflow(run: str, *, state_dir: Path | None = None,
                  dump: Path | None = None) -> dict[str, Any]:
    """The Workflow object of `run` from a state directory or a `kubectl get -o json` dump."""
    if state_dir is not None:
        path = state_dir / "workflows" / f"{run}.json"
        if not path.is_file():
            known = sorted(p.stem for p in (state_dir / "workflows").glob("*.json"))
            raise RunNotFound(f"run {run!r} is not in {state_dir / 'workflows'} "
                              f"(runs there: {', '.join(known) or 'none'})")
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as error:  # JSONDecodeError and bad UTF-8
            raise ValueError(f"{path}: not a JSON Workflow object ({error})") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: not a Workflow object")
        return loaded
    if dump is None:
        raise ValueError("give a state directory or a dump")
    try:
        text = dump.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{dump}: not UTF-8 text ({error.reason})") from None
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        from argoscope.yamlsafe import load_one

        document = load_one(text, str(dump))  # YAML, aliases bounded; ValueError if neither
    items = document.get("items") if isinstance(document, Mapping) and "items" in document \
        else [document]
    workflows = [i for i in items or [] if isinstance(i, Mapping) and i.get("kind") == "Workflow"]
    for item in workflows:
        if (item.get("metadata") or {}).get("name") == run:
            return dict(item)
    names = ", ".join(str((i.get("metadata") or {}).get("name")) for i in workflows)
    raise RunNotFound(f"run {run!r} is not in {dump} (Workflows there: {names or 'none'})")
