"""The demo's reports as a person sees them: rendered by headless chromium.

Set ARGOSCOPE_UPDATE_SCREENSHOTS=1 to refresh the screenshots kept in docs/reports/.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from argoscope.reports.run import write_run_report
from tests.reports.browser import distinct_byte_values, png_pixels, render
from tests.reports.conftest import Runs
from tests.reports.pages import assert_self_contained

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reports"
pytestmark = pytest.mark.slow


def keep(name: str, png: bytes) -> None:
    if os.environ.get("ARGOSCOPE_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        (DOCS / name).write_bytes(png)


def test_the_console_check_catches_page_errors(tmp_path: Path) -> None:
    # The check below is only worth something if a page error does show up in it.
    bad = tmp_path / "bad.html"
    bad.write_text("<p>x</p><script>console.error('page error here')</script>")
    assert any("page error here" in line for line in render(bad, 400, 300).console)
    blank = tmp_path / "blank.html"
    blank.write_text("<html><body></body></html>")
    assert distinct_byte_values(render(blank, 400, 300).png) < 8


@pytest.mark.parametrize("scenario", ["healthy", "drifted", "faulty"])
def test_run_reports_render(pipeline_runs: Runs, tmp_path: Path, scenario: str) -> None:
    page = write_run_report(pipeline_runs.state_dir, pipeline_runs.names[scenario],
                            tmp_path / f"{scenario}.html")
    assert_self_contained(page.read_text())
    shown = render(page, 1200, 1700)
    assert shown.console == []
    width, height, _ = png_pixels(shown.png)
    assert (width, height) == (1200, 1700)
    assert distinct_byte_values(shown.png) > 64  # text, colours and charts, not a blank page
    assert f"Run {pipeline_runs.names[scenario]}" in shown.dom
    if scenario == "drifted":
        validation = next(n for n in pipeline_runs.workflow(scenario)["status"]["nodes"].values()
                          if n["displayName"] == "model-validation")
        document = json.loads(next(p["value"] for p in validation["outputs"]["parameters"]
                                   if p["name"] == "argoscope-checks"))
        drifted = [f["feature"] for r in document["results"] for f in r.get("features", [])
                   if f["drifted"]]
        assert len(drifted) >= 5
        for feature in drifted:
            assert f"<strong>{feature}</strong>" in shown.dom
        assert "model-deployment skipped because accuracy" in shown.dom
    if scenario == "faulty":
        assert "No more retries left" in shown.dom and "data-ingestion(2)" in shown.dom
    keep(f"run-{scenario}.png", shown.png)


def test_step_report_renders(pipeline_runs: Runs) -> None:
    run_dir = pipeline_runs.state_dir / "runs" / pipeline_runs.names["drifted"]
    pages = [p for p in run_dir.glob("nodes/*/report.html") if "model-validation" in p.read_text()]
    assert len(pages) == 1
    assert_self_contained(pages[0].read_text())
    shown = render(pages[0], 1100, 1500)
    assert shown.console == []
    assert distinct_byte_values(shown.png) > 64
    assert "Checks of step model-validation" in shown.dom and "<svg" in shown.dom
    keep("step-model-validation.png", shown.png)


def test_screenshots_in_docs_are_current_enough() -> None:
    # The README shows these; they must exist and stay small.
    for name in ("run-healthy.png", "run-drifted.png", "run-faulty.png",
                 "step-model-validation.png"):
        path = DOCS / name
        assert path.is_file(), f"{path} missing: ARGOSCOPE_UPDATE_SCREENSHOTS=1 pytest {__file__}"
        assert path.stat().st_size < 1024 * 1024
