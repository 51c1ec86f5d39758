"""The step report's data document the check library writes is what the reports read back.

The writer (`argoscope.checks.step_document`) and the validating reader
(`argoscope.reports.documents`) live in different layers; whatever data a drift check saw,
every distribution it captured crosses that boundary unchanged.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.checks.distributions import distributions
from argoscope.checks.results import CheckResult
from argoscope.checks.step_document import (
    REPORT_PATH_ENV,
    STEP_DOCUMENT_SCHEMA,
    data_path,
    report_path_from_env,
    write_step_document,
)
from argoscope.reports.documents import read_step_document

LARGEST = float(np.finfo(float).max)
# Hostile sizes too: the largest floats (their span and sum overflow), the smallest, infinities.
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([LARGEST, -LARGEST, 5e-324, -5e-324, 1e300, -1e300]),
                    st.integers(-10**6, 10**6).map(float))
CATEGORIES = st.one_of(st.none(), st.text(min_size=0, max_size=12),
                       st.sampled_from(["<b>", "\"'&", "é", "other", "(other)"]))


@st.composite
def frame_pairs(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and current frames with a numeric, a categorical and a boolean column."""
    def frame() -> pd.DataFrame:
        rows = draw(st.integers(1, 40))
        return pd.DataFrame({
            "number": draw(st.lists(NUMBERS, min_size=rows, max_size=rows)),
            "category": draw(st.lists(CATEGORIES, min_size=rows, max_size=rows)),
            "flag": draw(st.lists(st.booleans(), min_size=rows, max_size=rows)),
        })
    return frame(), frame()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(frames=frame_pairs(), name=st.text(min_size=1, max_size=20))
def test_every_captured_distribution_is_read_back_unchanged(
        tmp_path: Path, frames: tuple[pd.DataFrame, pd.DataFrame], name: str) -> None:
    reference, current = frames
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing on the step's stderr either
        captured = distributions(reference, current, list(reference.columns))
    page = tmp_path / "report.html"
    result = CheckResult(name, "drift", "passed", 0.0, 0.5)
    written = write_step_document(page, [result], {name: captured})
    assert written == data_path(page) == tmp_path / "report.json"
    document = json.loads(written.read_text())
    assert document["schema"] == STEP_DOCUMENT_SCHEMA
    assert document["results"] == [result.to_dict()]
    read = read_step_document(written)
    assert read is not None and list(read) == [name]
    assert read[name] == captured
    for item in captured:
        numbers = [*item.reference, *item.current, *item.edges]
        for summary in (item.reference_summary, item.current_summary):
            numbers += [v for v in (summary.mean, summary.minimum, summary.maximum) if v is not None]
        assert all(math.isfinite(v) for v in numbers)
        assert all(0.0 <= share <= 1.0 for share in [*item.reference, *item.current])
        assert item.edges == sorted(item.edges)


def test_the_report_path_comes_from_the_environment_when_set() -> None:
    assert report_path_from_env({REPORT_PATH_ENV: "/tmp/r/step.html"}) == Path("/tmp/r/step.html")
    assert report_path_from_env({REPORT_PATH_ENV: "  "}) is None
    assert report_path_from_env({}) is None


@pytest.mark.parametrize("values", [[LARGEST], [-LARGEST], [-LARGEST, LARGEST], [1e300, 1e300]])
def test_a_column_of_the_largest_floats_still_gets_its_bars(values: list[float]) -> None:
    (found,) = distributions(pd.DataFrame({"x": values}), pd.DataFrame({"x": values[::-1]}),
                             ["x"])
    assert found.edges[0] <= min(values) and found.edges[-1] >= max(values)
    assert sum(found.reference) == pytest.approx(1.0) and found.reference_summary.mean is not None


def test_a_frame_without_the_features_captures_nothing() -> None:
    frame = pd.DataFrame({"a": np.arange(3.0)})
    assert distributions(frame, frame, ["missing"]) == []
