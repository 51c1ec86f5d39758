"""`--source file:` on hostile YAML: alias bombs and deep nesting are exit 2 naming the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from argoscope.exporter.sources.file import read_objects


def once(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "argoscope.cli", "exporter", "--source",
                           f"file:{path}", "--once"], capture_output=True, text=True,
                          timeout=60)


def alias_bomb() -> str:
    """The classic 'billion laughs' (about 350 bytes): 9**9 strings once expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_with_exit_2_naming_the_file(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb())
    result = once(bomb)
    assert result.returncode == 2, result.stderr
    assert str(bomb) in result.stderr and "alias" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("text", [
    "x: " + "[" * 990 + "1" + "]" * 990,  # under libyaml's own limit: Python recursion
    "x: " + "[" * 5000 + "1" + "]" * 5000,  # over it
    "a:\n" + "".join("  " * i + "- \n" for i in range(3000)),
])
def test_deep_nesting_is_exit_2_naming_the_file(tmp_path: Path, text: str) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text(text)
    result = once(deep)
    assert result.returncode == 2, result.stderr[-2000:]
    assert str(deep) in result.stderr and "invalid YAML" in result.stderr
    assert "Traceback" not in result.stderr


def test_ordinary_anchors_still_load_with_libyaml(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert yaml.__with_libyaml__, "PyYAML is built without libyaml here"
    used: list[str] = []

    class Spy(yaml.CSafeLoader):  # type: ignore[misc]
        def __init__(self, stream: Any) -> None:
            used.append("libyaml")
            super().__init__(stream)

    monkeypatch.setattr(yaml, "CSafeLoader", Spy)
    dump = tmp_path / "dump.yaml"
    dump.write_text("kind: List\nitems:\n"
                    "- &wf {kind: Workflow, metadata: {name: a-1}, status: {phase: Running}}\n"
                    "---\nkind: Workflow\nmetadata: {name: b-1}\nstatus: {phase: Running}\n")
    objects = read_objects(dump)
    assert [o["metadata"]["name"] for o in objects] == ["a-1", "b-1"]
    # Read through once (the survey), then streamed: libyaml both times.
    assert used == ["libyaml", "libyaml"]
