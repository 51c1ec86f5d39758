"""Reports are safe to open: only argoscope's own documents are rendered, every value is
escaped, a strict Content-Security-Policy is on every page, inputs are read with size limits
and pages are bounded.

Generated hostile values (markup, quotes, script, control characters) go into every place a
step or a Workflow can put text: check and feature names, messages, the step's data document
(labels of its distributions), and foreign `*.html` files beside a step's logs. The rendered
page may then hold only the elements argoscope writes itself.
"""

from __future__ import annotations

import json
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.checks.step_document import step_document
from argoscope.cli import main
from argoscope.reports import documents
from argoscope.reports.render import CONTENT_SECURITY_POLICY
from argoscope.reports.run import render_run_report, write_run_report
from argoscope.reports.step import MAX_FEATURE_ROWS, render_step_report

# What argoscope's templates and its chart library write; nothing else may appear.
ALLOWED = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "span",
           "strong", "em", "code", "ul", "li", "div", "table", "tr", "th", "td", "details",
           "summary", "pre", "br", "figure", "figcaption", "svg", "g", "rect", "line", "text",
           "path"}
HOSTILE = st.sampled_from([
    "<script>document.title='owned'</script>", '"><img src=x onerror=alert(1)>',
    "</style><script>alert(1)</script>", "<iframe src=//evil.example>", "{{ 7*7 }}",
    "';alert(1);//", "<!--", "]]>", "\x1b[31m", "<a href=javascript:alert(1)>x</a>",
    "<meta http-equiv=refresh content=0;url=//evil.example>", "&amp;lt;", "ok"])
hostile_text = st.lists(HOSTILE, min_size=1, max_size=3).map("".join)


class Elements(HTMLParser):
    """Every element and attribute name of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: set[str] = set()
        self.metas: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes |= {name for name, _ in attrs}
        if tag == "meta":
            self.metas.append(dict(attrs))


def assert_only_our_markup(html: str) -> None:
    parsed = Elements()
    parsed.feed(html)
    assert set(parsed.tags) <= ALLOWED, set(parsed.tags) - ALLOWED
    assert not {a for a in parsed.attributes if a.startswith("on") or a in ("src", "href")}
    policies = [m.get("content") for m in parsed.metas
                if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert policies == [CONTENT_SECURITY_POLICY]
    # The policy comes first in the head, before anything a value could influence.
    assert html.index("Content-Security-Policy") < html.index("<title>")


def workflow(check: str, feature: str, message: str, step: str = "validate") -> dict[str, Any]:
    document = {"schema": "argoscope.checks/v1", "results": [
        {"check": check, "kind": "gate", "status": "failed", "value": 0.5, "threshold": 0.8,
         "op": ">", "message": message},
        {"check": "drift", "kind": "drift", "status": "failed", "value": 1.0, "threshold": 0.5,
         "message": message, "features": [
             {"feature": feature, "method": "ks", "score": 0.001, "threshold": 0.05,
              "drifted": True}]},
        {"check": check, "kind": "expectation", "status": "passed", "value": 0.0,
         "threshold": 0.0, "message": f"expect_column_values_to_not_be_null(column={feature!r})"}]}
    node = {"id": "wf-1", "name": f"wf.{step}", "displayName": step, "type": "Pod",
            "templateName": step, "phase": "Succeeded", "boundaryID": "wf",
            "startedAt": "2026-01-01T00:00:01Z", "finishedAt": "2026-01-01T00:00:02Z",
            "message": message,
            "outputs": {"parameters": [{"name": "argoscope-checks",
                                        "value": json.dumps(document)}]}}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": "wf", "namespace": "argo"},
            "spec": {"entrypoint": "main", "arguments": {"parameters": [
                {"name": "p", "value": message}]},
                     "templates": [{"name": "main", "dag": {"tasks": [
                         {"name": step, "template": step}]}}]},
            "status": {"phase": "Succeeded", "message": message,
                       "startedAt": "2026-01-01T00:00:00Z",
                       "finishedAt": "2026-01-01T00:00:03Z",
                       "nodes": {"wf": {"id": "wf", "name": "wf", "displayName": "wf",
                                        "type": "DAG", "phase": "Succeeded",
                                        "children": ["wf-1"]}, "wf-1": node}}}


def step_files(node_dir: Path, label: str, feature: str = "f") -> None:
    """What a step can leave beside its logs: a foreign page, and a data document whose
    labels are hostile."""
    node_dir.mkdir(parents=True, exist_ok=True)
    (node_dir / "a-report.html").write_text(
        "<!--argoscope:step-report--><script>document.title='owned'</script>"
        "<!--/argoscope:step-report-->")
    data = step_document([], {"drift": []})
    data["distributions"]["drift"] = [{
        "feature": feature, "kind": "categorical", "labels": [label, "b"],
        "reference": [0.5, 0.5], "current": [0.9, 0.1],
        "reference_summary": {"count": 2, "missing": 0},
        "current_summary": {"count": 2, "missing": 0}, "edges": [], "sampled": None}]
    (node_dir / "report.json").write_text(json.dumps(data))


@settings(max_examples=25, deadline=None)
@given(check=hostile_text, feature=hostile_text, message=hostile_text, label=hostile_text)
def test_hostile_values_and_step_files_render_as_text(check: str, feature: str, message: str,
                                                      label: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        step_files(state / "runs" / "wf" / "nodes" / "wf-1", label, feature)
        page = render_run_report(workflow(check, feature, message), state)
    assert_only_our_markup(page)
    assert "<svg" in page  # the hostile category label is drawn, as text
    assert "<script" not in page and "argoscope:step-report" not in page
    if "<script>" in check + feature + message:  # (chart labels are cut to 24 characters)
        assert "&lt;script&gt;" in page


@settings(max_examples=15, deadline=None)
@given(names=st.lists(hostile_text, min_size=1, max_size=4))
def test_step_report_pages_escape_everything(names: list[str]) -> None:
    results = [{"check": name, "kind": "gate", "status": "failed", "value": 1, "threshold": 2,
                "op": ">", "message": name} for name in names]
    assert_only_our_markup(render_step_report(results))


def test_foreign_pages_beside_a_steps_logs_are_never_embedded(tmp_path: Path) -> None:
    step_files(tmp_path / "runs" / "wf" / "nodes" / "wf-1", "label")
    (tmp_path / "runs" / "wf" / "nodes" / "wf-1" / "report.json").unlink()
    page = render_run_report(workflow("c", "f", "m"), tmp_path)
    assert "owned" not in page
    assert "The distributions are in the step's" in page  # nothing of the page, but a pointer


@pytest.mark.parametrize("document", [
    "not json", json.dumps({"schema": "other/v1", "distributions": {}}),
    json.dumps({"schema": documents.STEP_DOCUMENT_SCHEMA, "distributions": {"drift": [
        {"feature": "f", "kind": "numerical", "labels": ["a"], "reference": [2.0],
         "current": [float("nan")]}]}}),
    json.dumps({"schema": documents.STEP_DOCUMENT_SCHEMA, "distributions": {"drift": [
        {"feature": "f", "kind": "categorical", "labels": ["a"] * 100,
         "reference": [0.01] * 100, "current": [0.01] * 100}]}}),
])
def test_a_data_document_that_is_not_ours_draws_nothing(tmp_path: Path, document: str) -> None:
    node = tmp_path / "runs" / "wf" / "nodes" / "wf-1"
    node.mkdir(parents=True)
    (node / "report.json").write_text(document)
    page = render_run_report(workflow("c", "f", "m"), tmp_path)
    assert "<svg" not in page


def test_a_huge_step_document_is_not_read(tmp_path: Path) -> None:
    node = tmp_path / "runs" / "wf" / "nodes" / "wf-1"
    node.mkdir(parents=True)
    with (node / "report.json").open("wb") as handle:  # 200 MB, sparse
        handle.truncate(200 * 1024 * 1024)
    with pytest.raises(documents.DocumentTooLarge, match="larger than 8 MiB"):
        documents.read_limited(node / "report.json", documents.MAX_STEP_DOCUMENT_BYTES)
    page = render_run_report(workflow("c", "f", "m"), tmp_path)
    assert "<svg" not in page and "The distributions are in the step's" in page


def test_a_hundred_thousand_features_make_a_bounded_page(tmp_path: Path) -> None:
    features = [{"feature": f"feature-{i:06d}", "method": "ks", "score": (i + 1) / 1e6,
                 "threshold": 0.05, "drifted": i < 50_000} for i in range(100_000)]
    results = [{"check": "wide_drift", "kind": "drift", "status": "failed", "value": 0.5,
                "threshold": 0.25, "features": features}]
    page = render_step_report(results)
    assert len(page.encode()) < 1024 * 1024
    assert f"{100_000 - MAX_FEATURE_ROWS} more features" in page
    assert "feature-000000" in page and "feature-099999" not in page  # most drifted first


def test_oversized_inputs_are_refused_naming_the_limit(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "workflows"
    folder.mkdir()
    big = folder / "huge.json"
    with big.open("wb") as handle:  # sparse: costs no disk
        handle.truncate(documents.MAX_WORKFLOW_BYTES + 1)
    assert main(["report", "huge", "--state-dir", str(tmp_path)]) == 2
    assert "larger than 32 MiB" in capsys.readouterr().err
    log = tmp_path / "stderr.log"
    with log.open("wb") as handle:
        handle.seek(200 * 1024 * 1024)  # a 200 MB log, sparse
        handle.write(b"\nthe last line\n")
    assert documents.read_tail(log).endswith("the last line\n")
    assert len(documents.read_tail(log)) <= documents.MAX_LOG_TAIL_BYTES


def test_report_names_a_run_as_get_does(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name, started in (("older-run", "2026-01-01T00:00:00Z"), ("newer-run", "2026-01-02T00:00:00Z")):
        body = workflow("c", "f", "m")
        body["metadata"]["name"] = name
        body["status"]["startedAt"] = started
        (tmp_path / "workflows").mkdir(exist_ok=True)
        (tmp_path / "workflows" / f"{name}.json").write_text(json.dumps(body))
    assert main(["report", "@latest", "--state-dir", str(tmp_path)]) == 0
    assert Path(capsys.readouterr().out.strip()) == tmp_path / "runs" / "newer-run" / "report.html"
    assert main(["report", "old", "--state-dir", str(tmp_path)]) == 0
    assert "older-run" in capsys.readouterr().out
    # A path is never a run's name: nothing outside the state directory is read.
    assert main(["report", "../workflows/newer-run", "--state-dir", str(tmp_path)]) == 2
    capsys.readouterr()
    # In a dump as well, @latest is the run that started last.
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps({"kind": "List", "items": [
        json.loads((tmp_path / "workflows" / f"{n}.json").read_text())
        for n in ("newer-run", "older-run")]}))
    out = tmp_path / "latest.html"
    assert main(["report", "@latest", "--dump", str(dump), "-o", str(out)]) == 0
    assert "Run newer-run" in out.read_text()
    assert main(["report", "@latest", "--dump", str(dump)]) == 0  # named after the run
    assert Path(capsys.readouterr().out.strip().splitlines()[-1]) == Path("newer-run.html")
    assert "Run newer-run" in (tmp_path / "newer-run.html").read_text()


def test_a_dump_whose_name_is_a_path_needs_an_explicit_output(tmp_path: Path) -> None:
    body = workflow("c", "f", "m")
    body["metadata"]["name"] = "../../escaped"
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps(body))
    with pytest.raises(ValueError, match="-o"):
        write_run_report(None, "../../escaped", dump=dump)
    assert write_run_report(None, "../../escaped", tmp_path / "page.html", dump=dump).is_file()


def test_a_fifo_left_as_a_steps_log_or_document_never_blocks_the_report(tmp_path: Path) -> None:
    # A failed step's log tail is read for the page: a FIFO there (or where its data document
    # would be) would wait for a writer forever. Only regular files are read.
    import os

    run = workflow("c", "f", "m")
    run["status"]["nodes"]["wf-1"]["phase"] = "Failed"
    node = tmp_path / "runs" / "wf" / "nodes" / "wf-1"
    node.mkdir(parents=True)
    os.mkfifo(node / "stderr.log")
    os.mkfifo(node / "report.json")
    with pytest.raises(OSError, match="not a regular file"):
        documents.read_tail(node / "stderr.log")
    page = render_run_report(run, tmp_path)
    assert "<svg" not in page and "wf" in page
