"""Where the demo works: the checkout it runs from and the state directory it clears."""

from __future__ import annotations

import shutil
from pathlib import Path

WORKFLOW_FILE = Path("manifests/pipeline/workflow.yaml")
DEFAULT_STATE_DIR = Path("demo-state")
STATE_MARKER = ".argoscope-demo"
# What a demo writes in its state directory (earlier versions left no marker).
STATE_ENTRIES = frozenset({"workflows", "pods", "runs", "volumes", "services", STATE_MARKER})


def find_repo(start: Path | None = None) -> Path:
    """The checkout holding the manifests and rules: the working directory or one above it,
    else the one this module was installed from (an editable install)."""
    candidates = [start or Path.cwd(), *(start or Path.cwd()).parents,
                  Path(__file__).resolve().parents[3]]
    for folder in candidates:
        if (folder / WORKFLOW_FILE).is_file():
            return folder
    raise FileNotFoundError(f"{WORKFLOW_FILE} not found from {Path.cwd()}: run the demo in an "
                            "argoscope checkout")


class StateDirError(Exception):
    """The state directory cannot be used (the message says why and what to do)."""


def prepare_state_dir(state_dir: Path, keep: bool) -> None:
    """Start from a clean state directory, unless `keep`.

    Only a directory an earlier demo made (it holds the marker file, or only what a demo
    writes) or an empty one is cleared: a --state-dir pointing at anything else is refused, never deleted.
    """
    marker = state_dir / STATE_MARKER
    if state_dir.exists() and not keep:
        if not state_dir.is_dir():
            raise StateDirError(f"{state_dir} exists and is not a directory")
        entries = {entry.name for entry in state_dir.iterdir()}
        if entries and not marker.exists() and not entries <= STATE_ENTRIES:
            raise StateDirError(f"{state_dir} is not empty and was not made by the demo; "
                                "choose another --state-dir, or pass --keep-state to add to it")
        shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("made by `argoscope demo`; cleared by the next demo unless "
                      "--keep-state\n", encoding="utf-8")
