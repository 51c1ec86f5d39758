"""`argoscope.timefmt.parse_time`: the one reading of Argo's timestamps, the exporter's too."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from argoscope.local.runs import load_run
from argoscope.reports.run import build_steps
from argoscope.timefmt import parse_time

T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-01-01T00:00:00Z", T0),
    ("2026-01-01T00:00:01.5Z", T0 + 1.5),
    ("2026-01-01T02:00:00+02:00", T0),
    ("2026-01-01T00:00:00", T0),  # no zone: UTC, as Kubernetes means it
    (datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), T0),
    (None, None),
    ("", None),
    ("0001-01-01T00:00:00Z", None),  # Go's zero time: Argo v2's "not set"
])
def test_timestamps_read_as_unix_seconds(value: Any, expected: float | None) -> None:
    assert parse_time(value) == expected


def test_a_yaml_timestamp_reads_like_its_text() -> None:
    loaded = yaml.safe_load("startedAt: 2026-01-01T00:00:00Z")["startedAt"]
    assert isinstance(loaded, datetime)
    assert parse_time(loaded) == parse_time("2026-01-01T00:00:00Z") == T0


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", 1767225600, ["x"]])
def test_anything_else_is_a_value_error_naming_it(value: Any) -> None:
    with pytest.raises(ValueError, match="bad timestamp") as raised:
        parse_time(value)
    assert repr(value) in str(raised.value)


def test_the_exporter_reads_times_through_it_and_names_a_bad_one() -> None:
    """The exporter's reading is this one; a bad value is its MalformedObject (a skip)."""
    objects = pytest.importorskip("argoscope.exporter.objects")
    assert objects.parse_time("2026-06-30T23:59:59.25+05:30") == parse_time(
        "2026-06-30T23:59:59.25+05:30")
    assert objects.parse_time("0001-01-01T00:00:00Z") is None
    with pytest.raises(objects.MalformedObject, match="bad timestamp 'soon'"):
        objects.parse_time("soon")


def _workflow(started: str, node_started: str) -> dict[str, Any]:
    node = {"id": "wf", "name": "wf", "displayName": "wf", "type": "Pod", "phase": "Succeeded",
            "templateName": "main", "startedAt": node_started,
            "finishedAt": "2026-01-01T00:01:00Z"}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": "wf", "namespace": "ml"},
            "spec": {"entrypoint": "main", "templates": [{"name": "main"}]},
            "status": {"phase": "Succeeded", "startedAt": started,
                       "finishedAt": "2026-01-01T00:01:00Z", "nodes": {"wf": node}}}


def test_run_readers_and_the_run_report_use_it(tmp_path: Path) -> None:
    path = tmp_path / "workflows" / "wf.json"
    path.parent.mkdir()
    path.write_text(json.dumps(_workflow("2026-01-01T00:00:00.5Z", "0001-01-01T00:00:00Z")))
    run = load_run(path, tmp_path)
    assert run.started == T0 + 0.5 and run.finished == T0 + 60
    assert run.root.started is None  # Go's zero time is "not set", not year 1
    [step] = build_steps(_workflow("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5Z"))
    assert step.started == T0 + 0.5  # fractional seconds were dropped to None before


def test_a_bad_time_fails_reading_a_run_but_leaves_a_gap_in_the_report(tmp_path: Path) -> None:
    path = tmp_path / "workflows" / "wf.json"
    path.parent.mkdir()
    path.write_text(json.dumps(_workflow("2026-01-01T00:00:00Z", "noon")))
    with pytest.raises(ValueError, match="'noon'"):
        load_run(path, tmp_path)
    [step] = build_steps(_workflow("2026-01-01T00:00:00Z", "noon"))
    assert step.started is None and step.finished == T0 + 60
