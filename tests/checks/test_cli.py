"""`argoscope check expect|drift` on CSV and Parquet: table, document, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "argoscope.cli", "check", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"age": rng.normal(40, 10, 300), "plan": rng.choice(["a", "b"], 300)})
    frame.to_csv(tmp_path / "ref.csv", index=False)
    frame.to_parquet(tmp_path / "same.parquet")
    shifted = frame.assign(age=frame["age"] + 25, plan="c")
    shifted.to_parquet(tmp_path / "shifted.parquet")
    (tmp_path / "empty.csv").write_text("age,plan\n")
    (tmp_path / "suite.json").write_text(json.dumps({"name": "s", "expectations": [
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "age", "min_value": 0, "max_value": 100}},
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "plan", "value_set": ["a", "b"]}}]}))
    (tmp_path / "bad_column.json").write_text(json.dumps({"expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "nope"}}]}))
    return tmp_path


def test_expect_passes_prints_a_table_and_writes_the_document(files: Path) -> None:
    proc = run("expect", "--suite", "suite.json", "ref.csv", "--out", "out.json", cwd=files)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].split()[:3] == ["CHECK", "KIND", "STATUS"]
    assert "column_values_to_be_in_set:plan" in proc.stdout and "PASSED" in proc.stdout
    document = json.loads((files / "out.json").read_text())
    assert [r["status"] for r in document["results"]] == ["passed", "passed"]


def test_expect_failing_critical_check_exits_1(files: Path) -> None:
    proc = run("expect", "--suite", "suite.json", "shifted.parquet", "--engine", "native",
               cwd=files)
    assert proc.returncode == 1
    assert "FAILED" in proc.stdout


@pytest.mark.parametrize(("args", "named"), [
    (("expect", "--suite", "suite.json", "missing.csv"), "missing.csv"),
    (("expect", "--suite", "nosuite.json", "ref.csv"), "nosuite.json"),
    (("expect", "--suite", "bad_column.json", "ref.csv"), "'nope'"),
    (("expect", "--suite", "suite.json", "empty.csv"), "empty.csv"),
    (("drift", "--reference", "ref.csv", "--current", "same.parquet", "--columns", "x"), "'x'"),
    (("drift", "--reference", "ref.csv", "--current", "nothing.parquet"), "nothing.parquet"),
])
def test_bad_input_exits_2_naming_file_or_column(files: Path, args, named: str) -> None:
    proc = run(*args, cwd=files)
    assert proc.returncode == 2, proc.stdout
    assert named in proc.stderr


def test_drift_between_csv_and_parquet(files: Path) -> None:
    same = run("drift", "--reference", "ref.csv", "--current", "same.parquet",
               "--out", "d.json", cwd=files)
    assert same.returncode == 0, same.stderr
    document = json.loads((files / "d.json").read_text())
    (result,) = document["results"]
    assert result["value"] == 0.0 and {f["method"] for f in result["features"]} == {"ks", "z"}
    shifted = run("drift", "--reference", "ref.csv", "--current", "shifted.parquet", cwd=files)
    assert shifted.returncode == 1
    assert "DRIFT" in shifted.stdout


def run_without(modules: list[str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command as in a base install: `modules` cannot be imported (None in sys.modules)."""
    code = ("import sys\n"
            f"for name in {modules!r}:\n    sys.modules[name] = None\n"
            "from argoscope.cli import main\nsys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-c", code, "check", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("blocked", "args", "extra"), [
    (["great_expectations"], ("expect", "--suite", "suite.json", "ref.csv", "--engine", "ge"),
     "engines"),
    (["great_expectations"], ("expect", "--suite", "ge_only.json", "ref.csv"), "engines"),
    (["evidently"], ("drift", "--reference", "ref.csv", "--current", "same.parquet",
                     "--engine", "evidently"), "engines"),
    (["pyarrow", "fastparquet"], ("drift", "--reference", "ref.csv", "--current",
                                  "same.parquet"), "parquet"),
])
def test_a_missing_optional_dependency_exits_2_naming_the_extra(files: Path, blocked, args,
                                                                 extra: str) -> None:
    (files / "ge_only.json").write_text(json.dumps({"expectations": [
        {"type": "expect_column_max_to_be_between",
         "kwargs": {"column": "age", "max_value": 100}}]}))
    proc = run_without(blocked, *args, cwd=files)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert f"pip install 'argoscope[{extra}]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_unknown_expectation_type_exits_2_with_one_line(files: Path) -> None:
    (files / "typo.json").write_text(json.dumps({"expectations": [
        {"type": "expect_column_values_to_be_betwen", "kwargs": {"column": "age"}}]}))
    proc = run("expect", "--suite", "typo.json", "ref.csv", cwd=files)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "'expect_column_values_to_be_betwen'" in line
    assert "expect_column_values_to_be_between" in line and "Traceback" not in line


@pytest.mark.parametrize("command", [
    ("expect", "--suite", "suite.json", "ref.csv"),
    ("drift", "--reference", "ref.csv", "--current", "shifted.parquet"),
])
def test_out_dash_writes_the_document_to_stdout(files: Path, command) -> None:
    proc = run(*command, "--out", "-", cwd=files)
    assert proc.returncode in (0, 1), proc.stderr
    document = json.loads(proc.stdout)  # nothing but the document on stdout
    assert document["schema"] == "argoscope.checks/v1" and document["results"]
    assert not (files / "-").exists()
    assert "CHECK" in proc.stderr  # the table still shows, on stderr


def test_the_table_says_which_unit_each_value_has(files: Path) -> None:
    proc = run("expect", "--suite", "suite.json", "shifted.parquet", cwd=files)
    header, *rows = proc.stdout.splitlines()
    assert "UNIT" in header.split()
    assert all("% unexpected" in row for row in rows)
    drift = run("drift", "--reference", "ref.csv", "--current", "shifted.parquet", cwd=files)
    lines = drift.stdout.splitlines()
    assert "share drifted" in lines[1]
    assert any("p-value" in line for line in lines[2:])


def test_default_drift_tests_load_neither_scipy_stats_nor_the_engines() -> None:
    code = """
import sys
import numpy as np
import pandas as pd
from argoscope.checks import drift_native
rng = np.random.default_rng(0)
frames = [pd.DataFrame({"x": rng.normal(s, 1, 1500), "n": rng.integers(0, 50, 1500),
                        "c": rng.choice(["a", "b", "c"], 1500)}) for s in (0, 1)]
found = drift_native.dataset_drift(*frames)
assert [f.method for f in found] == ["wasserstein", "wasserstein", "jensenshannon"], found
heavy = [m for m in ("scipy.stats", "scipy.spatial", "evidently", "great_expectations")
         if m in sys.modules]
print(heavy)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_column_types_flag_declares_types_and_rejects_malformed_entries(files: Path) -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"n": rng.integers(0, 200, 300).astype("uint8"), "x": rng.normal(0, 1, 300)})
    frame.to_parquet(files / "u8.parquet")  # Parquet keeps uint8 (CSV would read int64)
    inferred = run("drift", "--reference", "u8.parquet", "--current", "u8.parquet", "--out", "-",
                   cwd=files)
    assert [f["feature"] for f in json.loads(inferred.stdout)["results"][0]["features"]] == ["x"]
    declared = run("drift", "--reference", "u8.parquet", "--current", "u8.parquet", "--out", "-",
                   "--column-types", "n=numerical", cwd=files)
    features = json.loads(declared.stdout)["results"][0]["features"]
    # Declaring a numerical column makes the numerical columns exactly those declared, as
    # Evidently's DataDefinition does: x, inferred numerical, is no longer tested.
    assert [(f["feature"], f["method"]) for f in features] == [("n", "ks")]
    for bad in ("n", "n=ordinal", "zz=numerical"):
        proc = run("drift", "--reference", "u8.parquet", "--current", "u8.parquet",
                   "--column-types", bad, cwd=files)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, (bad, proc.stderr)
