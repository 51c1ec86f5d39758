"""`argoscope check drift|expect --engine spark|dask` on Parquet directories."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from argoscope.cli import main
from tests.checks.scale.conftest import write_parquet


def test_cli_checks_parquet_directories_on_each_engine(engine, tmp_path, capsys):
    name, _ = engine
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"age": rng.normal(40, 10, 900), "plan": rng.choice(["a", "b"], 900)})
    write_parquet(frame, tmp_path / "ref", 3)
    write_parquet(frame.assign(age=frame["age"] + 30), tmp_path / "cur", 2)
    (tmp_path / "suite.json").write_text(json.dumps({"expectations": [
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "plan", "value_set": ["a", "b"]}}]}))
    where = []
    if name == "dask":
        from distributed import default_client

        where = ["--scheduler", default_client().scheduler.address]
    code = main(["check", "drift", "--engine", name, "--reference", str(tmp_path / "ref"),
                 "--current", str(tmp_path / "cur"), "--out", str(tmp_path / "d.json"), *where])
    assert code == 1  # age drifted: one of two features is the default share
    capsys.readouterr()  # the drift table
    features = json.loads((tmp_path / "d.json").read_text())["results"][0]["features"]
    assert [(f["feature"], f["drifted"], f["exact"]) for f in features] == [
        ("age", True, True), ("plan", False, True)]
    code = main(["check", "expect", str(tmp_path / "ref"), "--suite", str(tmp_path / "suite.json"),
                 "--engine", name, "--out", "-", *where])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["exact"] is True
    code = main(["check", "expect", str(tmp_path / "missing"), "--suite",
                 str(tmp_path / "suite.json"), "--engine", name, *where])
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error == f"argoscope check expect: {tmp_path / 'missing'}: file or directory not found"
