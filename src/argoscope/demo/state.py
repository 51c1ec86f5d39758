"""Where the demo works: the checkout it runs from and the state directory it clears."""

from __future__ import annotations

import shutil
from pathlib import Path

WORKFLOW_FILE = Path("manifests/pipeline/workflow.yaml")
DEFAULT_STATE_DIR = Path("demo-state")
STATE_MARKER = ".argoscope-demo"
# What a demo writes in its state directory: the only entries a later demo removes.
STATE_ENTRIES = frozenset({"workflows", "pods", "runs", "volumes", "services"})
_MARKER_TEXT = ("made by `argoscope demo`; the next demo removes only its own entries here ({})"
                " unless --keep-state\ndirectory: {}\n")


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


def _identity(folder: Path) -> str:
    # Device and inode: a marker copied or moved into another directory does not match it.
    info = folder.stat()
    return f"{info.st_dev}:{info.st_ino}"


def made_by_demo(state_dir: Path) -> bool:
    """Whether `state_dir` is a directory a demo created: its marker names this very directory."""
    marker = state_dir / STATE_MARKER
    if marker.is_symlink() or not marker.is_file():
        return False
    try:
        text = marker.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return False
    return f"directory: {_identity(state_dir)}" in text.splitlines()


def _mark(state_dir: Path) -> None:
    (state_dir / STATE_MARKER).write_text(
        _MARKER_TEXT.format(", ".join(sorted(STATE_ENTRIES)), _identity(state_dir)),
        encoding="utf-8")


def prepare_state_dir(state_dir: Path, keep: bool) -> None:
    """Make the state directory ready: created (and marked) when absent or empty; else, unless
    `keep`, emptied of the demo's own entries.

    Deletes only what a demo created: the entries in STATE_ENTRIES of a directory the demo
    made itself (its marker names this directory's device and inode, so a marker written or
    copied elsewhere does not count). Anything else in it stays. A directory the demo did not
    make is refused unless `keep` (which adds to it, deletes nothing and never marks it); a
    symbolic link, as the directory or as one of the entries to remove, is refused.
    """
    if state_dir.is_symlink():
        raise StateDirError(f"{state_dir} is a symbolic link; give the directory itself as "
                            "--state-dir")
    if not state_dir.exists():
        state_dir.mkdir(parents=True)
        _mark(state_dir)
        return
    if not state_dir.is_dir():
        raise StateDirError(f"{state_dir} exists and is not a directory")
    entries = sorted(state_dir.iterdir())
    if not entries:
        _mark(state_dir)  # nothing of anyone's is here: the demo's own from now on
        return
    if keep:
        return
    if not made_by_demo(state_dir):
        raise StateDirError(f"{state_dir} is not empty and was not made by the demo; choose "
                            "another --state-dir (a new or empty one), or pass --keep-state to "
                            "add to it (nothing there is deleted)")
    ours = [entry for entry in entries if entry.name in STATE_ENTRIES]
    linked = [entry for entry in ours if entry.is_symlink()]
    if linked:
        raise StateDirError(f"{linked[0]} is a symbolic link; the demo does not remove what it "
                            "points to: remove it yourself")
    for entry in ours:
        if entry.is_dir():
            shutil.rmtree(entry)  # never follows links inside: they are unlinked
        else:
            entry.unlink()
