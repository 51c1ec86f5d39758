"""The demo's state directory: it deletes only what it created, whatever is there.

Generated combinations of what a directory holds (the demo's entry names, a user's files, a
marker written by a demo, copied from another directory or forged, symbolic links) against the
one rule: a file that the demo did not create survives every `prepare_state_dir`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.demo.state import (
    STATE_ENTRIES,
    STATE_MARKER,
    StateDirError,
    made_by_demo,
    prepare_state_dir,
)

REPO = Path(__file__).resolve().parents[2]
USER_NAMES = st.sampled_from(["notes.txt", "data", "runs", "volumes", "workflows", "model.pkl",
                              ".git", "pods", "services"])
MARKERS = st.sampled_from(["none", "forged", "copied", "own"])


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def _fill(folder: Path, names: list[str]) -> None:
    for name in names:
        target = folder / name
        if name.endswith((".txt", ".pkl")):
            target.write_text("a user's file")
        else:
            (target / "inside").mkdir(parents=True, exist_ok=True)
            (target / "inside" / "precious.csv").write_text("1,2,3")


@settings(max_examples=40, deadline=None)
@given(user=st.lists(USER_NAMES, min_size=1, max_size=4, unique=True), marker=MARKERS,
       keep=st.booleans())
def test_a_users_files_survive_whatever_marker_is_there(user: list[str], marker: str,
                                                         keep: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "project"
        state.mkdir()
        _fill(state, user)
        if marker == "forged":
            (state / STATE_MARKER).write_text("made by `argoscope demo`\ndirectory: 1:2\n")
        elif marker == "copied":  # a real demo's marker, copied from the directory it named
            other = Path(tmp) / "other"
            prepare_state_dir(other, keep=False)
            shutil.copy(other / STATE_MARKER, state / STATE_MARKER)
        elif marker == "own":  # the demo made it, the user added files later
            shutil.rmtree(state)
            prepare_state_dir(state, keep=False)
            _fill(state, user)
        before = _files(state)
        try:
            prepare_state_dir(state, keep=keep)
            refused = False
        except StateDirError:
            refused = True
        after = _files(state)
        if marker == "own" and not keep:
            # Only the demo's own entries go; everything else the user put there stays.
            assert not refused
            kept = {p for p in before if p.parts[0] not in STATE_ENTRIES}
            assert after == kept | {Path(STATE_MARKER)}
        elif marker == "own":  # --keep-state on its own directory: adds, deletes nothing
            assert not refused and before == after and made_by_demo(state)
        else:
            # Nothing the demo did not create is deleted, and it never marks such a directory.
            assert before <= after
            assert refused == (not keep)
            assert made_by_demo(state) is False


def test_a_new_or_empty_directory_becomes_the_demos(tmp_path: Path) -> None:
    fresh = tmp_path / "a" / "b"
    prepare_state_dir(fresh, keep=False)
    assert made_by_demo(fresh)
    empty = tmp_path / "empty"
    empty.mkdir()
    prepare_state_dir(empty, keep=True)
    assert made_by_demo(empty)


def test_symbolic_links_are_refused_never_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "keep").mkdir(parents=True)
    state = tmp_path / "state"
    prepare_state_dir(state, keep=False)
    (state / "runs").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(StateDirError, match="symbolic link"):
        prepare_state_dir(state, keep=False)
    assert (elsewhere / "keep").is_dir()
    link = tmp_path / "link"
    link.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(StateDirError, match="symbolic link"):
        prepare_state_dir(link, keep=False)
    # A link inside one of the demo's entries is removed as a link; its target stays.
    (state / "runs").unlink()
    (state / "volumes").mkdir()
    (state / "volumes" / "to-elsewhere").symlink_to(elsewhere, target_is_directory=True)
    prepare_state_dir(state, keep=False)
    assert (elsewhere / "keep").is_dir() and not (state / "volumes").exists()


def test_the_issue_sequence_through_the_cli(tmp_path: Path) -> None:
    """`demo --state-dir myproject` refused; `--keep-state` adds; the next plain demo is
    refused again and `notes.txt` and `data/` are still there."""
    project = tmp_path / "myproject"
    project.mkdir()
    (project / "notes.txt").write_text("mine")
    (project / "data").mkdir()
    (project / "runs").mkdir()  # TensorBoard's default
    prepare_state_dir(project, keep=True)  # what `demo --keep-state` does first
    done = subprocess.run([sys.executable, "-m", "argoscope.cli", "demo", "--state-dir",
                           str(project)], capture_output=True, text=True, cwd=REPO,
                          timeout=60, check=False, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert done.returncode == 2, done.stderr
    assert "not made by the demo" in done.stderr
    assert {p.name for p in project.iterdir()} == {"notes.txt", "data", "runs"}
