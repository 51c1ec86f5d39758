"""The step report `Checks` writes when asked: content, aggregates only, never fails a step."""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from argoscope.checks import Checks
from argoscope.reports import render
from tests.reports.pages import assert_self_contained

# Values that appear in one row only: they must never reach the page.
SENTINEL = 0.1234567891
RARE = "zanzibar-row-17"


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"steady": rng.normal(0, 1, 600), "moved": rng.normal(0, 1, 600),
                              "colour": rng.choice(["red", "green", "blue"], 600)})
    current = pd.DataFrame({"steady": rng.normal(0, 1, 600), "moved": rng.normal(4, 1, 600),
                            "colour": rng.choice(["red", "green", "blue", "violet"], 600)})
    reference.loc[17, "steady"] = SENTINEL
    # Twenty common categories and one rare one, which is folded into "(other)".
    reference["city"] = [f"city-{i % 20}" for i in range(600)]
    current["city"] = [f"city-{i % 20}" for i in range(600)]
    current.loc[17, "city"] = RARE
    return reference, current


def run_checks(report: Path | None, env: dict[str, str], tmp_path: Path) -> Checks:
    reference, current = frames()
    with Checks("validate", path=tmp_path / "checks.json", env=env, report=report) as checks:
        checks.expect(current, {"name": "s", "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "steady"}}]})
        checks.drift(reference, current, name="input_drift", drift_share=0.9,
                     severity="warning")
        checks.gate("accuracy", 0.74, ">", 0.85, severity="warning")
    return checks


def test_report_shows_every_kind_of_check_with_drifted_features_first(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    run_checks(page, {}, tmp_path)
    html = page.read_text()
    assert_self_contained(html)
    # Expectations with their counts, drift with share and threshold, the gate.
    assert "column_values_to_not_be_null:steady" in html
    document = json.loads((tmp_path / "checks.json").read_text())
    drift = next(r for r in document["results"] if r["kind"] == "drift")
    assert "Drift: input_drift" in html and f"{100 * drift['value']:.1f} %" in html
    assert "90.0 %" in html
    assert re.search(r"accuracy\s*&gt;\s*0\.85", html) and "0.74" in html
    # One chart per feature, drifted ones first.
    captions = re.findall(r"<figcaption><strong>([^<]+)</strong>", html)
    drifted = [f for f in drift["features"] if f["drifted"]]
    stable = [f for f in drift["features"] if not f["drifted"]]
    assert "moved" in {f["feature"] for f in drifted} and "steady" in {f["feature"] for f in stable}
    # Drifted first, each group from the most drifted: a p-value lower, a distance higher.
    def strength(feature: dict[str, object]) -> float:
        score, threshold = float(feature["score"]), float(feature["threshold"])  # type: ignore[arg-type]
        p_value = feature["method"] in ("ks", "chisquare", "z")
        return score / threshold if p_value else threshold / max(score, 1e-300)
    expected = [f["feature"] for group in (drifted, stable)
                for f in sorted(group, key=lambda f: (strength(f), f["feature"]))]
    assert captions == expected
    assert html.count("<svg") == 4
    # Aggregates only: no row's value reaches the page.
    assert "0.1234567" not in html and RARE not in html and "(other)" in html
    # The document beside it is unchanged by the report.
    assert [r["check"] for r in document["results"]][-1] == "accuracy"


def test_environment_variable_turns_the_report_on(tmp_path: Path) -> None:
    page = tmp_path / "from-env" / "step.html"
    run_checks(None, {"ARGOSCOPE_REPORT_PATH": str(page)}, tmp_path)
    assert "Checks of step validate" in page.read_text()


def test_no_report_unless_asked(tmp_path: Path) -> None:
    checks = run_checks(None, {}, tmp_path)
    assert checks.report_path is None
    assert not list(tmp_path.glob("*.html"))


def test_a_report_that_cannot_be_written_never_fails_the_step(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with caplog.at_level(logging.WARNING, logger="argoscope.checks"):
        run_checks(blocker / "report.html", {}, tmp_path)
    assert (tmp_path / "checks.json").is_file()
    assert "could not write the step report" in caplog.text


def test_missing_reports_extra_is_logged_with_the_install_command(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "leather", None)  # import fails as if not installed
    render.environment.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="argoscope.checks"):
            run_checks(tmp_path / "report.html", {}, tmp_path)
    finally:
        render.environment.cache_clear()
    assert not (tmp_path / "report.html").exists()
    assert "pip install 'argoscope[reports]'" in caplog.text
    assert (tmp_path / "checks.json").is_file()
    # The data document is the check library's own: written without the extra.
    data = json.loads((tmp_path / "report.json").read_text())
    assert [d["feature"] for d in data["distributions"]["input_drift"]]


@pytest.mark.parametrize("name", ["report.json", "report", "report.HTML", "page.data.json"])
def test_the_page_and_its_data_document_never_overwrite_each_other(tmp_path: Path,
                                                                   name: str) -> None:
    page = tmp_path / name
    run_checks(page, {}, tmp_path)
    documents = [p for p in tmp_path.iterdir() if p != page and p.name != "checks.json"
                 and p.suffix == ".json"]
    assert len(documents) == 1, sorted(p.name for p in tmp_path.iterdir())
    assert "Checks of step validate" in page.read_text()
    assert json.loads(documents[0].read_text())["results"]


def test_a_blocking_failure_still_writes_the_report(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    with pytest.raises(Exception, match="critical checks failed"), \
            Checks("gate", path=tmp_path / "checks.json", env={}, report=page) as checks:
        checks.gate("accuracy", 0.5, ">", 0.85)
    assert "accuracy" in page.read_text() and "failed" in page.read_text()
