"""`argoscope rollback`: the model registry's rollback under the command a person already uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from argoscope.cli import main
from argoscope.pipeline.registry import Registry


def test_rollback_makes_the_previous_version_current_and_keeps_the_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "model.pkl"
    model.write_bytes(b"model")
    registry = Registry(tmp_path / "registry")
    registry.deploy(model, {"n": 1})
    registry.deploy(model, {"n": 2})
    assert main(["rollback", "--registry-dir", str(registry.root)]) == 0
    assert "current version: v0001" in capsys.readouterr().out
    assert registry.current == "v0001" and registry.versions() == ["v0001", "v0002"]
    # Nothing earlier to go back to: one line naming why, exit 2.
    assert main(["rollback", "--registry-dir", str(registry.root)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("argoscope rollback: ") and "no previous version" in error
    assert main(["rollback", "--registry-dir", str(tmp_path / "missing")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_rollback_is_listed_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "rollback" in capsys.readouterr().out
