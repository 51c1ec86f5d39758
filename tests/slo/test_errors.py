"""A bad spec ends with one line on stderr naming the file, the SLO and the field, and exit 2,
whatever the mistake: a misspelt field, a value out of range, a wrong type, an OpenSLO field
argoscope does not support."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.cli import main
from tests.slo.specs import openslo, openslo_document, short_slo
from tests.support.untimed import UNTIMED_CHECKS

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, *UNTIMED_CHECKS])


def _error(tmp_path: Path, capsys: pytest.CaptureFixture[str], *documents: Any) -> str:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump_all(documents, allow_unicode=True), encoding="utf-8")
    capsys.readouterr()
    assert main(["slo", "generate", str(spec), "-o", str(tmp_path / "out.yaml")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and not (tmp_path / "out.yaml").exists()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"argoscope slo: {spec}: slo "), lines[0]
    return lines[0]


@st.composite
def _misspelt(draw: st.DrawFn, key: str) -> str:
    """`key` with one edit: a letter dropped, doubled, swapped with the next, or replaced."""
    index = draw(st.integers(0, len(key) - 1))
    edit = draw(st.sampled_from(["drop", "double", "swap", "replace"]))
    if edit == "drop" and len(key) > 2:
        wrong = key[:index] + key[index + 1:]
    elif edit == "swap" and index < len(key) - 1 and key[index] != key[index + 1]:
        wrong = key[:index] + key[index + 1] + key[index] + key[index + 2:]
    elif edit == "replace":
        wrong = key[:index] + draw(st.sampled_from("xqz")) + key[index + 1:]
    else:
        wrong = key[:index] + key[index] + key[index:]
    return wrong if wrong != key else key + "s"


@SETTINGS
@given(data=st.data())
def test_a_misspelt_short_form_field_names_itself(
        data: st.DataObject, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    slo = data.draw(short_slo(name="etl-success"))
    key = data.draw(st.sampled_from(sorted(k for k in slo if k not in {"name", "sli"})))
    wrong = data.draw(_misspelt(key))
    slo[wrong] = slo.pop(key)
    line = _error(tmp_path, capsys, {"slos": [slo]})
    # Either the misspelt field is refused by name, or (if it was required) its absence.
    assert (f"slo etl-success: {wrong}: unknown field" in line
            or f"slo etl-success: {key}: required" in line), line


# Each field with values out of its range or of the wrong type, and the words the error uses.
OUT_OF_RANGE: dict[str, tuple[list[object], str]] = {
    "objective": ([0, 1, 1.5, -0.1, 95, "95%", True, None], "objective"),
    "window": (["6d", "91d", "1h", "28 days", "", 28], "window"),
    "min_events": ([0, -1, 1.5, "5", 10_000_000], "min_events"),
    "max_age": (["0s", "30s", "100d", "soon"], "max_age"),
    "threshold": (["29m", "0s", "2d", 1800], "threshold"),
    "pipeline": (["", 5, ["etl"], "a\nb"], "pipeline"),
    "sli": (["run_sucess", "latency", None], "sli"),
    "name": (["ETL", "-etl", "a" * 64, "etl_success"], "name"),
    "team": (["ML team", ""], "team"),
}
BASE = {"run_success": {}, "freshness": {"max_age": "26h"},
        "step_latency": {"step": "train", "threshold": "30m"}, "checks_passing": {}}


@SETTINGS
@given(data=st.data())
def test_a_value_out_of_range_names_its_field(
        data: st.DataObject, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    field = data.draw(st.sampled_from(sorted(OUT_OF_RANGE)))
    values, word = OUT_OF_RANGE[field]
    value = data.draw(st.sampled_from(values))
    sli = {"max_age": "freshness", "threshold": "step_latency"}.get(field, data.draw(
        st.sampled_from(sorted(BASE))))
    slo: dict[str, Any] = {"name": "etl-success", "sli": sli, "pipeline": "etl",
                           "objective": 0.95, **BASE[sli]}
    slo[field] = value
    line = _error(tmp_path, capsys, {"slos": [slo]})
    expected_slo = "etl-success" if field != "name" else "slos[0]"
    assert f"slo {expected_slo}: {word}: " in line, line


@pytest.mark.parametrize(("path", "value", "field"), [
    (("spec", "budgetingMethod"), "Ocurrences", "spec.budgetingMethod"),
    (("spec", "budgetingMethod"), "RatioTimeslices", "spec.budgetingMethod"),
    (("spec", "objectives", 0, "target"), 99.9, "spec.objectives[0].target"),
    (("spec", "timeWindow", 0, "isRolling"), False, "spec.timeWindow[0].isRolling"),
    (("spec", "timeWindow", 0, "duration"), "1d", "spec.timeWindow[0].duration"),
    (("spec", "budgetingMethod"), "Timeslices", "spec.objectives[0].timeSliceTarget"),
    (("spec", "indicatorRef"), "shared-sli", "spec.indicatorRef"),
    (("spec", "indicator", "spec", "ratioMetric", "total", "metricSource", "type"), "Datadog",
     "spec.indicator.spec.ratioMetric.total.metricSource.type"),
    (("spec", "indicator", "spec", "ratioMetric", "total", "metricSource", "spec", "query"),
     "sum(rate(x[5m]))", "spec.indicator.spec.ratioMetric.total.metricSource.spec.query"),
    (("spec", "objectve"), [], "spec.objectve"),
    (("metadata", "annotations", "argoscope.io/min-events"), "many",
     "metadata.annotations.argoscope.io/min-events"),
    (("apiVersion",), "openslo/v2", "apiVersion"),
    (("kind",), "Service", "kind"),
])
def test_openslo_mistakes_name_the_field_path(
        path: tuple[str | int, ...], value: object, field: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    document = openslo("train-success")
    node: Any = document
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    line = _error(tmp_path, capsys, document)
    assert f"slo train-success: {field}: " in line, line


def test_file_level_mistakes_name_the_file(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("slos: [unclosed\n", encoding="utf-8")
    assert main(["slo", "generate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{spec}: slo -: -: not valid YAML (line 2" in err
    assert main(["slo", "generate", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml: slo -: -: cannot read" in capsys.readouterr().err
    # The same name in two files: the second names the first.
    one = {"slos": [{"name": "a", "sli": "run_success", "pipeline": "p", "objective": 0.9}]}
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(one))
    (tmp_path / "two.yaml").write_text(yaml.safe_dump(one))
    assert main(["slo", "generate", str(tmp_path / "one.yaml"), str(tmp_path / "two.yaml")]) == 2
    assert f"two.yaml: slo a: name: already used by an SLO in {tmp_path / 'one.yaml'}" in (
        capsys.readouterr().err)


def _keys(node: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Paths of every mapping key argoscope reads (free-form labels and others' annotations
    excluded), lists walked by index."""
    found: list[tuple[str | int, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if path[-1:] == ("labels",) or (path[-1:] == ("annotations",)
                                           and not key.startswith("argoscope.io/")):
                continue
            found.append((*path, key))
            found += _keys(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _keys(value, (*path, index))
    return found


def _field(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@SETTINGS
@given(data=st.data())
def test_a_misspelt_openslo_field_names_its_path(
        data: st.DataObject, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = data.draw(openslo_document(name="train-success"))
    path = data.draw(st.sampled_from([p for p in _keys(document) if p != ("metadata", "name")]))
    key = str(path[-1])
    wrong = data.draw(_misspelt(key))
    parent: Any = document
    for part in path[:-1]:
        parent = parent[part]
    parent[wrong] = parent.pop(key)
    line = _error(tmp_path, capsys, document)
    # The misspelt key is refused by its path, or the key it replaced is missing (required),
    # or, for `apiVersion`/`kind`, the document is no longer an OpenSLO one at all.
    where = _field((*path[:-1], wrong)), _field(path)
    assert (f": {where[0]}: unknown field" in line or f": {where[1]}: " in line
            or "slos: " in line or ": -: unknown top-level field" in line), line
