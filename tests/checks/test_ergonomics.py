"""What a person sees of the package: `dir(argoscope.checks)` lists what it exports, each expectation
names its parameters (bounded), and
results land under the working directory unless the step runs in a pod, under the local
runner, or `$ARGOSCOPE_CHECKS_PATH` says otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import argoscope.checks
from argoscope.checks import Checks
from argoscope.checks.emit import DEFAULT_PATH, LOCAL_DEFAULT_PATH, PATH_ENV, document_path
from argoscope.checks.expect import described
from argoscope.checks.suites import Expectation
from argoscope.local.paths import PATH_MAP_ENV


def test_dir_lists_every_exported_name() -> None:
    shown = dir(argoscope.checks)
    assert set(argoscope.checks.__all__) <= set(shown)
    assert "Checks" in shown
    for name in argoscope.checks.__all__:
        assert getattr(argoscope.checks, name) is not None


@pytest.mark.parametrize(("env", "expected"), [
    ({}, LOCAL_DEFAULT_PATH),
    ({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, DEFAULT_PATH),
    ({PATH_MAP_ENV: json.dumps({DEFAULT_PATH: "/state/node/checks.json"})},
     "/state/node/checks.json"),
    ({PATH_ENV: "/x/y.json", "KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "/x/y.json"),
])
def test_where_results_go(env: dict[str, str], expected: str) -> None:
    assert document_path(env) == Path(expected)


def test_a_laptop_run_writes_under_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Checks("train", env={}) as checks:
        checks.gate("accuracy", 0.9, ">", 0.85)
    written = tmp_path / LOCAL_DEFAULT_PATH
    assert json.loads(written.read_text())["results"][0]["check"] == "accuracy"
    assert (written.parent / "accuracy").read_text().strip() == "0.9"


@settings(max_examples=50)
@given(column=st.text(max_size=60), values=st.lists(st.integers() | st.text(max_size=30),
                                                    max_size=50),
       mostly=st.floats(0, 1))
def test_each_expectation_names_its_parameters_within_bounds(column: str, values: list[object],
                                                             mostly: float) -> None:
    exp = Expectation("expect_column_values_to_be_in_set",
                      {"value_set": values, "mostly": mostly, "column": column})
    text = described(exp)
    assert text.startswith("expect_column_values_to_be_in_set(column=") and len(text) <= 200
    if len(text) < 200:  # the column first, then the other arguments by name
        assert f"column={column!r}"[:30] in text and "mostly=" in text and "value_set=[" in text
