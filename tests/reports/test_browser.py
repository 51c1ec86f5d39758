"""The demo's reports as a person sees them: rendered by headless chromium, at a desktop width
and a phone's, with the layout measured in the browser (verdict first, every step visible,
labels not cut, nothing wider than the window) and the page's own policy enforced.

Set ARGOSCOPE_UPDATE_SCREENSHOTS=1 to refresh the screenshots kept in docs/reports/.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from argoscope.reports.run import write_run_report
from tests.reports.browser import distinct_byte_values, layout, png_pixels, render
from tests.reports.conftest import Runs
from tests.reports.pages import assert_self_contained

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reports"
WIDE, NARROW = 1200, 480
pytestmark = pytest.mark.slow


def keep(name: str, png: bytes) -> None:
    if os.environ.get("ARGOSCOPE_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        (DOCS / name).write_bytes(png)


def test_the_console_check_catches_page_errors_and_the_policy_blocks_scripts(
        pipeline_runs: Runs, tmp_path: Path) -> None:
    # The checks below are only worth something if a page error does show up in them...
    bad = tmp_path / "bad.html"
    bad.write_text("<p>x</p><script>console.error('page error here')</script>")
    assert any("page error here" in line
               for line in render(bad, 400, 300, screenshot=False).console)
    # ...and a script that got into a report's markup would not run (the page's policy).
    page = write_run_report(pipeline_runs.state_dir, pipeline_runs.names["healthy"],
                            tmp_path / "report.html")
    injected = tmp_path / "injected.html"
    injected.write_text(page.read_text().replace(
        "</body>", "<script>console.error('script ran')</script></body>"))
    console = render(injected, 400, 300, screenshot=False).console
    assert not any("script ran" in line for line in console)
    assert any("Content Security Policy" in line for line in console), console


@pytest.mark.parametrize(("scenario", "width"), [
    ("drifted", WIDE), ("drifted", NARROW), ("faulty", WIDE)])
def test_run_reports_read_well_at_each_width(pipeline_runs: Runs, tmp_path: Path,
                                             scenario: str, width: int) -> None:
    page = write_run_report(pipeline_runs.state_dir, pipeline_runs.names[scenario],
                            tmp_path / f"{scenario}.html")
    assert_self_contained(page.read_text())
    shown = layout(page, width)
    assert shown.page.console == []  # nothing the page's policy had to block
    assert png_pixels(shown.png)[:2] == (width, 1700)
    assert distinct_byte_values(shown.png) > 64  # text, colours and charts, not a blank page
    probe = shown.probe
    # Verdict first: the first line a person reads is the phase and what the checks say.
    assert probe["verdict_top"] < 40
    workflow = pipeline_runs.workflow(scenario)
    expected_first = {"drifted": "Succeeded — 2 critical checks failed",
                      "faulty": "Failed — data-ingestion failed"}[scenario]
    assert str(probe["first_text"]).startswith(expected_first), probe["first_text"]
    # Every step is on the timeline and visible; no label or name is cut; nothing is wider
    # than the window (wide tables scroll in their own box).
    steps = {n["displayName"].split("(")[0] for n in workflow["status"]["nodes"].values()
             if n["type"] in ("Pod", "Retry", "Skipped")}
    assert probe["lanes"] == len(steps)
    assert probe["thin_bars"] == 0 and probe["bars_outside"] == 0
    assert probe["cut_labels"] == []
    assert probe["overflow"] <= 0
    # DAG order: the lanes follow the pipeline, whatever ran first or never ran.
    dom = shown.page.dom
    order = ["data-ingestion", "preprocessing", "feature-engineering", "model-training",
             "model-validation", "model-deployment"]
    positions = [dom.index(f'<div class="label">{name} ') for name in order]
    assert positions == sorted(positions)
    if scenario == "drifted":
        validation = next(n for n in workflow["status"]["nodes"].values()
                          if n["displayName"] == "model-validation")
        document = json.loads(next(p["value"] for p in validation["outputs"]["parameters"]
                                   if p["name"] == "argoscope-checks"))
        drifted = [f["feature"] for r in document["results"] for f in r.get("features", [])
                   if f["drifted"]]
        assert len(drifted) >= 5
        for feature in drifted:
            assert f"<strong>{feature}</strong>" in dom
        assert "model-deployment skipped because accuracy" in dom
        assert "p-value <span" in dom and "lower means drift" in dom
        # Preprocessing's 64 expectations fold into a few rows, with their parameters: the
        # 60 per-feature not-null checks (30 features, both splits) share `mostly`.
        assert "mostly=0.95" in dom and '<td class="name">60 checks</td>' in dom
    if scenario == "faulty":
        assert "No more retries left" in dom and "data-ingestion(2)" in dom
    keep(f"run-{scenario}{'' if width == WIDE else '-narrow'}.png", shown.png)


def test_step_report_renders(pipeline_runs: Runs) -> None:
    run_dir = pipeline_runs.state_dir / "runs" / pipeline_runs.names["drifted"]
    pages = [p for p in run_dir.glob("nodes/*/report.html") if "model-validation" in p.read_text()]
    assert len(pages) == 1
    assert_self_contained(pages[0].read_text())
    shown = render(pages[0], 1100, 1500)
    assert shown.console == []
    assert distinct_byte_values(shown.png) > 64
    assert "Checks of step model-validation" in shown.dom and "<svg" in shown.dom
    assert shown.dom.index('class="verdict bad"') < shown.dom.index("<h1>")
    keep("step-model-validation.png", shown.png)


def test_screenshots_in_docs_are_current_enough() -> None:
    # The README shows these; they must exist and stay small.
    for name in ("run-healthy.png", "run-drifted.png", "run-drifted-narrow.png",
                 "run-faulty.png", "step-model-validation.png"):
        path = DOCS / name
        assert path.is_file(), f"{path} missing: ARGOSCOPE_UPDATE_SCREENSHOTS=1 pytest {__file__}"
        assert path.stat().st_size < 1024 * 1024
