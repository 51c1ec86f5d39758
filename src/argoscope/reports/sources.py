"""Where a run report reads a run from: the local runner's state directory, or a dump.

A dump is `kubectl get workflows -o json` (a List), one Workflow object, or the same as YAML.
Both are read with a size limit (`argoscope.reports.documents`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from argoscope.reports.documents import MAX_DUMP_BYTES, MAX_WORKFLOW_BYTES, read_limited


class RunNotFound(LookupError):
    """The run is not in the state directory or the dump."""


def resolve_run(state_dir: Path, wanted: str) -> str:
    """The name of the run `wanted` names in a state directory, as `get` and `logs` read it:
    the name, a unique prefix of it, or `@latest`. Only names of runs recorded there are
    returned, so `../x` or an absolute path never becomes a path to read."""
    from argoscope.local.runs import RunNotFound as NoSuchRun
    from argoscope.local.runs import find_run

    folder = state_dir / "workflows"
    if folder.is_dir() and f"{wanted}.json" in {p.name for p in folder.iterdir()}:
        return wanted  # listed there by that very name: read (with its limit) as it is
    try:
        return find_run(state_dir, wanted).name
    except NoSuchRun as error:
        raise RunNotFound(str(error)) from None


def _started(workflow: Mapping[str, Any]) -> str:
    status = workflow.get("status")
    return str((status.get("startedAt") if isinstance(status, Mapping) else None) or "")


def _yaml(text: str, where: Path) -> Any:
    """The YAML documents of a dump (aliases bounded, safe tags only: `argoscope.yamlsafe`):
    the one document, or several as a list's items."""
    from argoscope.yamlsafe import load_all

    loaded = load_all(text, str(where))  # a ValueError naming the file when not YAML
    return loaded[0] if len(loaded) == 1 else {"items": loaded}


def load_workflow(run: str, *, state_dir: Path | None = None,
                  dump: Path | None = None) -> dict[str, Any]:
    """The Workflow object of `run` from a state directory or a `kubectl get -o json` dump."""
    if state_dir is not None:
        path = state_dir / "workflows" / f"{resolve_run(state_dir, run)}.json"
        try:
            loaded = json.loads(read_limited(path, MAX_WORKFLOW_BYTES))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise ValueError(f"{path}: not a Workflow object ({type(error).__name__})") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: not a Workflow object")
        return loaded
    if dump is None:
        raise ValueError("give a state directory or a dump")
    text = read_limited(dump, MAX_DUMP_BYTES).decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        document = _yaml(text, dump)
    items = document.get("items") if isinstance(document, Mapping) and "items" in document \
        else [document]
    workflows = [i for i in items or [] if isinstance(i, Mapping) and i.get("kind") == "Workflow"]
    if run == "@latest" and workflows:  # as `get` reads it: the run that started last
        latest: Mapping[str, Any] = max(workflows, key=_started)
        return dict(latest)
    for item in workflows:
        if (item.get("metadata") or {}).get("name") == run:
            return dict(item)
    names = ", ".join(str((i.get("metadata") or {}).get("name")) for i in workflows)
    raise RunNotFound(f"run {run!r} is not in {dump} (Workflows there: {names or 'none'})")
