"""No object, node, check document or dying source can silence the exporter.

Each case is a poisoned input from the issue, applied through the public surface
(`argoscope exporter --once`, the model, the real exporter against the API-server double),
followed by a good input that must still be counted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from argoscope.exporter.app import supervise
from argoscope.exporter.model import WORKFLOWS, Model
from argoscope.exporter.server import MetricsServer, build_registry
from tests.support import argo
from tests.support.apiserver import ApiServerDouble
from tests.support.metrics import expose, samples, total, value
from tests.support.net import http_get, wait_until
from tests.support.servers import exporter, require_binary

SCHEMA = "argoscope.checks/v1"
NESTED = "[" * 5000 + "]" * 5000  # 10 KB, 5,000 levels
HUGE_INT = "1" + "0" * 399  # 400 digits


def document(*results: str) -> str:
    return '{"schema": "' + SCHEMA + '", "results": [' + ", ".join(results) + "]}"


def gate(check: str, value_text: str = "0.91") -> str:
    return ('{"check": "' + check + '", "kind": "gate", "status": "passed", "value": '
            + value_text + ', "threshold": 0.85}')


def run_with_document(name: str, doc: str, namespace: str = "ml") -> dict[str, Any]:
    outputs = {"parameters": [{"name": "argoscope-checks", "value": doc}]}
    return argo.workflow(name, [argo.node(name, "validate", outputs=outputs,
                                          node_id=f"{name}-validate")], namespace=namespace)


POISONS = {
    "nested": NESTED,
    "nested-results": document(NESTED),
    "huge-int": document(gate("huge", HUGE_INT)),
    "surrogate": document(gate("x\\ud800")),  # plain ASCII on the wire
}


def once(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "argoscope.cli", "exporter", "--source",
                           f"file:{path}", "--once"], capture_output=True, text=True,
                          timeout=120)


def test_once_survives_every_poisoned_document_and_counts_the_good_one(tmp_path: Path
                                                                       ) -> None:
    objects = [run_with_document(f"bad-{name}", doc) for name, doc in POISONS.items()]
    objects.append(run_with_document("good", document(gate("accuracy"))))
    (tmp_path / "dump.json").write_text(json.dumps({"kind": "List", "items": objects}))
    result = once(tmp_path / "dump.json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    s = samples(result.stdout)
    assert total(s, "argoscope_workflow_runs_total") == 5
    good = {"namespace": "ml", "pipeline": "train", "step": "validate", "kind": "gate"}
    assert value(s, "argoscope_check_status", **good, check="accuracy") == 1
    # The 400-digit value is no value; the rest of that result still stands.
    assert value(s, "argoscope_check_status", **good, check="huge") == 1
    assert value(s, "argoscope_check_value", **good, check="huge") is None
    # The lone surrogate became U+FFFD: the exposition stays valid UTF-8.
    assert value(s, "argoscope_check_status", **good, check="x\ufffd") == 1
    assert value(s, "argoscope_exporter_objects_skipped_total", resource="argoscope-checks",
                 reason="malformed") == 2
    check = subprocess.run([require_binary("promtool"), "check", "metrics"],
                           input=result.stdout, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_bad_node_is_skipped_and_the_rest_of_its_run_still_counts() -> None:
    model = Model()
    good = argo.node("r1", "prepare", node_id="r1-prepare")
    bad_id, bad = argo.node("r1", "train", node_id="r1-train")
    bad["finishedAt"] = "not a time"
    model.apply(WORKFLOWS, "ADDED", argo.workflow("r1", [good, (bad_id, bad)]))
    model.apply(WORKFLOWS, "ADDED", argo.workflow("r2", [argo.node("r2", "prepare")]))
    s = samples(expose(model.collect, model.stats.collect))
    assert total(s, "argoscope_step_runs_total", step="prepare") == 2
    assert total(s, "argoscope_workflow_runs_total") == 2
    assert value(s, "argoscope_exporter_objects_skipped_total", resource="nodes",
                 reason="malformed") == 1


def test_an_unforeseen_exception_in_one_object_is_counted_and_the_next_applies() -> None:
    class Exploding(dict):  # a mapping whose reads fail in a way no parser expects
        def get(self, key: Any, default: Any = None) -> Any:
            if key == "status":
                raise RuntimeError("boom")
            return super().get(key, default)

    model = Model()
    model.apply(WORKFLOWS, "ADDED", Exploding(argo.workflow("bad", [])))
    model.apply(WORKFLOWS, "ADDED", argo.workflow("good", [argo.node("good", "train")]))
    s = samples(expose(model.collect, model.stats.collect))
    assert value(s, "argoscope_exporter_objects_skipped_total", resource="workflows",
                 reason="error") == 1
    assert total(s, "argoscope_workflow_runs_total") == 1


def test_recursion_in_a_document_is_counted_as_too_deep_not_fatal() -> None:
    from argoscope.exporter.checkdocs import CheckDocuments

    model = Model()
    model.observers.append(CheckDocuments(model.stats))
    # Within orjson's depth limit but deeper than any check document may be.
    deep = document('{"check": "d", "status": "passed", "features": '
                    + "[" * 900 + "]" * 900 + "}")
    model.apply(WORKFLOWS, "ADDED", run_with_document("deep", deep))
    model.apply(WORKFLOWS, "ADDED", run_with_document("good", document(gate("accuracy"))))
    s = samples(expose(model.collect, model.stats.collect))
    assert total(s, "argoscope_check_status", check="accuracy") == 1
    assert total(s, "argoscope_check_status", check="d") == 0
    assert value(s, "argoscope_exporter_objects_skipped_total", resource="argoscope-checks",
                 reason="malformed") == 1


@pytest.mark.e2e
def test_poisoned_workflows_in_list_and_mid_watch_leave_the_exporter_ready_and_counting(
        tmp_path: Path) -> None:
    with ApiServerDouble() as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        # In the first list: the exporter must still become ready.
        api.put(WORKFLOWS, run_with_document("listed-poison", POISONS["nested"]))
        with exporter(["--source", "kubernetes", "--kubeconfig", str(kubeconfig)]) as proc:
            wait_until(lambda: api.open_watches(WORKFLOWS) == 1, what="the workflow watch")
            for name, doc in POISONS.items():
                api.put(WORKFLOWS, run_with_document(f"poison-{name}", doc))
            api.inject_raw(WORKFLOWS, '{"type": "ADDED", "object": ' + NESTED + "}")
            api.put(WORKFLOWS, run_with_document("good", document(gate("accuracy"))))

            def scrape() -> dict[Any, float]:
                return samples(http_get(proc.url + "/metrics"))

            wait_until(lambda: total(scrape(), "argoscope_check_status",
                                     check="accuracy") == 1, what="the good run counted")
            s = scrape()
            assert total(s, "argoscope_workflow_runs_total") == 5  # listed one is history
            assert value(s, "argoscope_check_status", namespace="ml", pipeline="train",
                         step="validate", check="x\ufffd", kind="gate") == 1
            assert value(s, "argoscope_exporter_objects_skipped_total",
                         resource="argoscope-checks", reason="malformed") == 3
            assert value(s, "argoscope_exporter_objects_skipped_total",
                         resource="workflows", reason="malformed_event") == 1
            assert value(s, "argoscope_exporter_source_up", source="kubernetes") == 1
            assert http_get(proc.url + "/readyz") == "ready\n"
            # The watch never died: one stream, no restarts.
            assert total(s, "argoscope_exporter_watch_restarts_total") == 0
            assert "Traceback" not in proc.log()


class _FlakySource:
    """A source whose thread dies `deaths` times before it runs normally."""

    name = "flaky"

    def __init__(self, deaths: int) -> None:
        self.deaths = deaths
        self.starts = 0
        self.release = threading.Event()

    def snapshot(self) -> None:
        """Not used."""

    def run(self, stop: threading.Event) -> None:
        self.starts += 1
        if self.starts <= self.deaths:
            self.release.wait(30)
            raise RecursionError("maximum recursion depth exceeded")
        stop.wait()


def test_a_dead_source_is_restarted_and_shows_down_meanwhile() -> None:
    model = Model()
    model.stats.expect_source("flaky")
    model.stats.source_ready("flaky")
    source = _FlakySource(deaths=1)
    server = MetricsServer(build_registry(model.stats.collect), "127.0.0.1", 0,
                           lambda: model.stats.ready)
    server.start()
    stop = threading.Event()
    thread = threading.Thread(target=supervise, args=(source, model.stats, stop),
                              kwargs={"backoff_seconds": 2.0}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.port}"

    def readyz() -> int:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    try:
        assert readyz() == 200
        source.release.set()  # the source dies now; the supervisor waits 2 s to restart it
        wait_until(lambda: readyz() == 503, what="/readyz 503 while the source is down")
        s = samples(http_get(url + "/metrics"))
        assert value(s, "argoscope_exporter_source_up", source="flaky") == 0
        wait_until(lambda: source.starts == 2, what="the source restarted")
        wait_until(lambda: readyz() == 200, what="/readyz 200 after the restart")
        s = samples(http_get(url + "/metrics"))
        assert value(s, "argoscope_exporter_source_up", source="flaky") == 1
        assert value(s, "argoscope_exporter_source_restarts_total", source="flaky") == 1
    finally:
        stop.set()
        thread.join(timeout=10)
        server.stop()


def test_local_state_dir_with_a_deeply_nested_file_still_counts_the_rest(tmp_path: Path
                                                                         ) -> None:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "a-poison.json").write_text(NESTED)
    good = run_with_document("good", document(gate("accuracy")))
    (workflows / "b-good.json").write_text(json.dumps(good))
    result = subprocess.run([sys.executable, "-m", "argoscope.cli", "exporter", "--source",
                             f"local:{tmp_path}", "--once"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    s = samples(result.stdout)
    assert total(s, "argoscope_check_status", check="accuracy") == 1
    assert value(s, "argoscope_exporter_objects_skipped_total", resource="workflows",
                 reason="malformed") == 1


def test_a_compressed_node_bomb_is_refused_not_inflated() -> None:
    import base64
    import gzip

    from argoscope.exporter.objects import MAX_COMPRESSED_NODES_BYTES

    # About 70 KiB of gzip that would inflate past the limit (and keep going).
    bomb = base64.b64encode(gzip.compress(b" " * (MAX_COMPRESSED_NODES_BYTES + 1024))).decode()
    obj = argo.workflow("bomb", [])
    obj["status"].pop("nodes")
    obj["status"]["compressedNodes"] = bomb
    model = Model()
    model.apply(WORKFLOWS, "ADDED", obj)
    model.apply(WORKFLOWS, "ADDED", argo.workflow("good", [argo.node("good", "train")]))
    s = samples(expose(model.collect, model.stats.collect))
    assert value(s, "argoscope_exporter_objects_skipped_total", resource="workflows",
                 reason="malformed") == 1
    assert total(s, "argoscope_workflow_runs_total") == 1


def test_a_failing_plugin_leaves_only_its_families_out_of_the_model() -> None:
    class Broken:
        def on_node_finished(self, step: Any, node: Any, count: bool) -> None:
            raise RuntimeError("plug-in bug")

        def collect(self) -> list[Any]:
            raise RuntimeError("plug-in bug")

    model = Model()
    model.observers.append(Broken())
    model.apply(WORKFLOWS, "ADDED", argo.workflow("good", [argo.node("good", "train")]))
    s = samples(expose(model.collect, model.stats.collect))
    assert total(s, "argoscope_step_runs_total", step="train") == 1
    assert value(s, "argoscope_exporter_collect_errors_total", collector="Broken") == 1
    assert value(s, "argoscope_exporter_objects_skipped_total", resource="observer",
                 reason="error") == 1
