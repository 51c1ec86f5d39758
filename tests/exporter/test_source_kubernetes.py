"""The Kubernetes source against an HTTP API-server double, through the real client library.

Every test runs the real `KubernetesSource` (in a thread, or inside the real exporter process)
against `tests.support.apiserver.ApiServerDouble` and asserts exact counter values.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.exporter.model import PODS, WORKFLOWS, Model
from argoscope.exporter.sources import SourceError
from argoscope.exporter.sources.kubernetes import KubernetesSource, bounded_lines
from tests.support import argo
from tests.support.apiserver import ApiServerDouble
from tests.support.metrics import expose, samples, total, value
from tests.support.net import http_get, wait_until
from tests.support.servers import exporter

WF_LABEL = "workflows.argoproj.io/workflow"


# --- fixtures and helpers ------------------------------------------------------------------

@pytest.fixture
def api() -> Iterator[ApiServerDouble]:
    with ApiServerDouble() as double:
        yield double


@pytest.fixture
def kubeconfig(api: ApiServerDouble, tmp_path: Path) -> Path:
    return api.write_kubeconfig(tmp_path / "kubeconfig")


def make_source(model: Model, kubeconfig: Path, namespaces: list[str] | None = None,
                page_size: int = 500) -> KubernetesSource:
    return KubernetesSource(model, namespaces=namespaces or [], kubeconfig=str(kubeconfig),
                            context=None, backoff_seconds=0.05, backoff_max_seconds=0.2,
                            page_size=page_size)


@contextlib.contextmanager
def following(source: KubernetesSource) -> Iterator[None]:
    """Run the source live in a thread; stop it and make sure it ended."""
    stop = threading.Event()
    thread = threading.Thread(target=source.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=15)
        assert not thread.is_alive(), "the source did not stop"


def metrics(model: Model) -> dict[Any, float]:
    return samples(expose(model.collect, model.stats.collect))


def events(model: Model, resource: str, kind: str) -> float:
    return model.stats.events.get((resource, kind), 0.0)


def restarts(model: Model, resource: str, reason: str) -> float:
    return model.stats.watch_restarts.get((resource, reason), 0.0)


def runs(model: Model, phase: str) -> float:
    return total(metrics(model), "argoscope_workflow_runs_total", phase=phase)


def watching(api: ApiServerDouble, resource: str, count: int = 1) -> None:
    wait_until(lambda: api.open_watches(resource) == count, what=f"{count} {resource} watch(es)")


def finished_workflow(name: str, phase: str = "Succeeded", **kw: Any) -> dict[str, Any]:
    """A finished run with two finished steps."""
    nodes = [argo.node(name, "prepare", phase="Succeeded", node_id=f"{name}-prepare"),
             argo.node(name, "train", phase=phase, node_id=f"{name}-train")]
    return argo.workflow(name, nodes, phase=phase, **kw)


def running_workflow(name: str, **kw: Any) -> dict[str, Any]:
    return argo.workflow(name, [argo.node(name, "prepare", phase="Running",
                                          node_id=f"{name}-prepare")],
                         phase="Running", finish=None, **kw)


# --- tests ---------------------------------------------------------------------------------

def test_initial_list_is_history_and_makes_ready(api: ApiServerDouble, kubeconfig: Path
                                                 ) -> None:
    api.put(WORKFLOWS, finished_workflow("old-run"))
    api.put(WORKFLOWS, running_workflow("live-run"))
    api.put(PODS, argo.pod("live-run", "live-run-1"))
    # Not a step pod: the label selector must keep it out.
    stray = argo.pod("x", "stray")
    stray["metadata"]["labels"] = {"app": "web"}
    api.put(PODS, stray)
    model = Model()
    source = make_source(model, kubeconfig, page_size=1)  # one object per page
    assert not model.stats.ready
    with following(source):
        wait_until(lambda: model.stats.ready, what="ready")
        watching(api, WORKFLOWS)
        watching(api, PODS)
        m = metrics(model)
        # Finished before the exporter started: shown, but not counted (no restart spike).
        assert value(m, "argoscope_workflows", namespace="ml", pipeline="train",
                     phase="Succeeded") == 1
        assert value(m, "argoscope_workflows", namespace="ml", pipeline="train",
                     phase="Running") == 1
        assert total(m, "argoscope_workflow_runs_total") == 0
        assert total(m, "argoscope_step_runs_total") == 0
        assert value(m, "argoscope_exporter_events_total", resource="workflows",
                     type="LIST") == 2
        assert value(m, "argoscope_exporter_events_total", resource="pods", type="LIST") == 1
        assert value(m, "argoscope_exporter_ready") == 1
    # The list came in pages, continued with the server's token.
    lists = [r for r in api.requests if r.resource == WORKFLOWS and not r.watch]
    assert [r.query.get("continue", "") != "" for r in lists] == [False, True]
    # Pods are asked for by the existence selector; watches resume from the list.
    pod_watch = api.watch_requests(PODS)[0]
    assert pod_watch.query["labelSelector"] == WF_LABEL
    assert pod_watch.query["allowWatchBookmarks"] == "true"
    assert int(pod_watch.query["resourceVersion"]) == api.resource_version


def test_added_modified_deleted_count_each_run_once(api: ApiServerDouble, kubeconfig: Path
                                                    ) -> None:
    model = Model()
    with following(make_source(model, kubeconfig)):
        watching(api, WORKFLOWS)
        api.put(WORKFLOWS, running_workflow("r1"))
        api.put(WORKFLOWS, finished_workflow("r1", phase="Failed"))
        # A later update of a finished run (say, a label) counts nothing again.
        again = finished_workflow("r1", phase="Failed", labels={"archived": "true"})
        api.put(WORKFLOWS, again)
        wait_until(lambda: events(model, WORKFLOWS, "MODIFIED") == 2, what="two MODIFIED")
        m = metrics(model)
        assert value(m, "argoscope_workflow_runs_total", namespace="ml", pipeline="train",
                     phase="Failed") == 1
        assert value(m, "argoscope_step_runs_total", namespace="ml", pipeline="train",
                     step="train", template="train", phase="Failed") == 1
        assert value(m, "argoscope_step_runs_total", namespace="ml", pipeline="train",
                     step="prepare", template="prepare", phase="Succeeded") == 1
        api.delete(WORKFLOWS, "ml", "r1")
        wait_until(lambda: events(model, WORKFLOWS, "DELETED") == 1, what="DELETED")
        m = metrics(model)
        assert total(m, "argoscope_workflows") == 0
        assert value(m, "argoscope_workflow_runs_total", namespace="ml", pipeline="train",
                     phase="Failed") == 1
        assert value(m, "argoscope_exporter_events_total", resource="workflows",
                     type="ADDED") == 1
        assert value(m, "argoscope_exporter_events_total", resource="workflows",
                     type="MODIFIED") == 2
        assert total(m, "argoscope_exporter_watch_restarts_total") == 0


def test_bookmark_is_counted_and_moves_the_resume_point(api: ApiServerDouble,
                                                        kubeconfig: Path) -> None:
    model = Model()
    with following(make_source(model, kubeconfig)):
        watching(api, WORKFLOWS)
        watching(api, PODS)
        # Pods move the cluster's resourceVersion past anything the workflow watch saw.
        api.put(PODS, argo.pod("r1", "r1-1"))
        mark = api.bookmark(WORKFLOWS)
        wait_until(lambda: events(model, WORKFLOWS, "BOOKMARK") == 1, what="BOOKMARK")
        api.drop_watches(WORKFLOWS)
        wait_until(lambda: len(api.watch_requests(WORKFLOWS)) == 2, what="a new watch")
        assert int(api.watch_requests(WORKFLOWS)[1].query["resourceVersion"]) == mark
        m = metrics(model)
        assert value(m, "argoscope_exporter_events_total", resource="workflows",
                     type="BOOKMARK") == 1
        assert value(m, "argoscope_exporter_watch_restarts_total", resource="workflows",
                     reason="dropped") == 1


def test_dropped_connection_resumes_from_last_version_without_double_count(
        api: ApiServerDouble, kubeconfig: Path) -> None:
    model = Model()
    with following(make_source(model, kubeconfig)):
        watching(api, WORKFLOWS)
        api.put(WORKFLOWS, running_workflow("r1"))
        last = api.put(WORKFLOWS, finished_workflow("r1"))
        wait_until(lambda: events(model, WORKFLOWS, "MODIFIED") == 1, what="r1 finished")
        api.drop_watches(WORKFLOWS)
        wait_until(lambda: len(api.watch_requests(WORKFLOWS)) == 2, what="a resumed watch")
        assert int(api.watch_requests(WORKFLOWS)[1].query["resourceVersion"]) == last
        watching(api, WORKFLOWS)
        api.put(WORKFLOWS, finished_workflow("r2"))
        wait_until(lambda: events(model, WORKFLOWS, "ADDED") == 2, what="r2")
        m = metrics(model)
        assert value(m, "argoscope_workflow_runs_total", namespace="ml", pipeline="train",
                     phase="Succeeded") == 2
        assert total(m, "argoscope_step_runs_total") == 4
        # Nothing was delivered twice: one ADDED per run, one MODIFIED.
        assert value(m, "argoscope_exporter_events_total", resource="workflows",
                     type="ADDED") == 2
        assert value(m, "argoscope_exporter_events_total", resource="workflows",
                     type="MODIFIED") == 1
        assert value(m, "argoscope_exporter_watch_restarts_total", resource="workflows",
                     reason="dropped") == 1


@pytest.mark.parametrize("gone", ["error-event", "http-410"])
def test_410_gone_relists_forgets_deleted_and_counts_once(
        api: ApiServerDouble, kubeconfig: Path, gone: str) -> None:
    api.put(WORKFLOWS, finished_workflow("history"))
    api.put(WORKFLOWS, running_workflow("deleted-away"))
    api.put(WORKFLOWS, running_workflow("finished-away"))
    model = Model()
    with following(make_source(model, kubeconfig)):
        watching(api, WORKFLOWS)
        api.put(WORKFLOWS, finished_workflow("seen-live"))
        wait_until(lambda: events(model, WORKFLOWS, "ADDED") == 1, what="seen-live")
        # The exporter is away: what happens now reaches it only through a re-list.
        api.hold_watches(WORKFLOWS)
        api.delete(WORKFLOWS, "ml", "deleted-away")
        api.put(WORKFLOWS, finished_workflow("finished-away", phase="Failed"))
        if gone == "error-event":
            api.expire(WORKFLOWS)
        else:
            api.fail_next(WORKFLOWS, 410, watch=True, reason="Expired")
            api.drop_watches(WORKFLOWS)
        wait_until(lambda: restarts(model, WORKFLOWS, "expired") == 1, what="410 handled")
        wait_until(lambda: events(model, WORKFLOWS, "LIST") == 3 + 3, what="re-list")
        watching(api, WORKFLOWS)
        # Updates after the re-list of runs counted before count nothing again.
        api.put(WORKFLOWS, finished_workflow("finished-away", phase="Failed",
                                             labels={"archived": "true"}))
        wait_until(lambda: events(model, WORKFLOWS, "MODIFIED") == 1, what="a late update")
        m = metrics(model)
        assert value(m, "argoscope_workflows", namespace="ml", pipeline="train",
                     phase="Running") is None  # deleted-away is forgotten
        assert value(m, "argoscope_workflows", namespace="ml", pipeline="train",
                     phase="Succeeded") == 2  # history and seen-live
        assert value(m, "argoscope_workflow_runs_total", namespace="ml", pipeline="train",
                     phase="Succeeded") == 1  # seen-live only: history is not replayed
        assert value(m, "argoscope_workflow_runs_total", namespace="ml", pipeline="train",
                     phase="Failed") == 1  # finished while away: counted once, at re-list
        assert value(m, "argoscope_step_failures_total", namespace="ml", pipeline="train",
                     step="train", reason="Error") == 1
        assert value(m, "argoscope_exporter_watch_restarts_total", resource="workflows",
                     reason="expired") == 1
        assert value(m, "argoscope_exporter_watch_restarts_total", resource="workflows",
                     reason="dropped") == (1 if gone == "http-410" else None)


def test_pod_deleted_after_it_failed_keeps_its_reason(api: ApiServerDouble, kubeconfig: Path
                                                      ) -> None:
    model = Model()
    with following(make_source(model, kubeconfig)):
        watching(api, WORKFLOWS)
        watching(api, PODS)
        node_id, node = argo.node("r1", "train", phase="Running", node_id="r1-train")
        api.put(WORKFLOWS, argo.workflow("r1", [(node_id, node)], phase="Running",
                                         finish=None))
        api.put(PODS, argo.pod("r1", node_id, main_started=5, node_name="r1.train"))
        # The kubelet's last word arrives with the pod; podGC deletes it right away.
        api.put(PODS, argo.pod("r1", node_id, phase="Failed", node_name="r1.train",
                               terminated={"reason": "OOMKilled", "exitCode": 137}))
        api.delete(PODS, "ml", node_id)
        wait_until(lambda: events(model, PODS, "DELETED") == 1, what="pod DELETED")
        # The controller marks the node failed without naming the reason in its message.
        node_id, node = argo.node("r1", "train", phase="Failed", node_id="r1-train",
                                  message="Error (exit code 137)")
        api.put(WORKFLOWS, argo.workflow("r1", [(node_id, node)], phase="Failed"))
        wait_until(lambda: events(model, WORKFLOWS, "MODIFIED") == 1, what="run failed")
        m = metrics(model)
        assert value(m, "argoscope_step_failures_total", namespace="ml", pipeline="train",
                     step="train", reason="OOMKilled") == 1
        assert total(m, "argoscope_step_failures_total") == 1
        assert value(m, "argoscope_exporter_events_total", resource="pods",
                     type="DELETED") == 1


def test_namespace_list_watches_only_those_and_relists_them_together(
        api: ApiServerDouble, kubeconfig: Path) -> None:
    for namespace in ("ml", "research", "elsewhere"):
        api.put(WORKFLOWS, running_workflow(f"run-{namespace}", namespace=namespace))
    model = Model()
    with following(make_source(model, kubeconfig, namespaces=["ml", "research"])):
        watching(api, WORKFLOWS, count=2)
        api.put(WORKFLOWS, finished_workflow("late", namespace="elsewhere"))
        api.put(WORKFLOWS, finished_workflow("late", namespace="research"))
        wait_until(lambda: events(model, WORKFLOWS, "ADDED") == 1, what="research/late")
        m = metrics(model)
        assert total(m, "argoscope_workflows", namespace="elsewhere") == 0
        assert total(m, "argoscope_workflows", namespace="ml") == 1
        assert total(m, "argoscope_workflows", namespace="research") == 2
        assert total(m, "argoscope_workflow_runs_total") == 1
        # 410 Gone in both streams: one re-list of both namespaces, nothing forgotten.
        api.expire(WORKFLOWS)
        wait_until(lambda: restarts(model, WORKFLOWS, "expired") == 2, what="both expired")
        wait_until(lambda: events(model, WORKFLOWS, "LIST") == 2 + 3, what="one re-list")
        watching(api, WORKFLOWS, count=2)
        m = metrics(model)
        assert total(m, "argoscope_workflows", namespace="ml") == 1
        assert total(m, "argoscope_workflows", namespace="research") == 2
        assert total(m, "argoscope_workflow_runs_total") == 1
        assert value(m, "argoscope_exporter_events_total", resource="workflows",
                     type="LIST") == 5
    # Workflows and pods alike were listed and watched per namespace, never cluster-wide.
    assert {(r.resource, r.namespace, r.watch) for r in api.requests} == {
        (resource, namespace, watch) for resource in (WORKFLOWS, PODS)
        for namespace in ("ml", "research") for watch in (False, True)}


def test_not_ready_while_the_list_is_refused(api: ApiServerDouble, kubeconfig: Path) -> None:
    api.fail_next(WORKFLOWS, 403, watch=False, count=1000, reason="Forbidden")
    model = Model()
    with following(make_source(model, kubeconfig)):
        wait_until(lambda: sum(1 for r in api.requests
                               if r.resource == WORKFLOWS and not r.watch) >= 3,
                   what="the list retried")
        assert not model.stats.ready
        assert value(metrics(model), "argoscope_exporter_ready") == 0
        assert api.watch_requests(WORKFLOWS) == []


def test_api_errors_and_malformed_events_back_off_and_never_crash(
        api: ApiServerDouble, kubeconfig: Path, caplog: pytest.LogCaptureFixture) -> None:
    api.fail_next(WORKFLOWS, 500, watch=False, count=2)
    model = Model()
    with following(make_source(model, kubeconfig)):
        wait_until(lambda: model.stats.ready, what="ready after two failed lists")
        assert sum(1 for r in api.requests if r.resource == WORKFLOWS and not r.watch) == 3
        watching(api, WORKFLOWS)
        api.inject_raw(WORKFLOWS, "{not json")
        api.inject_raw(WORKFLOWS, '{"type": "ADDED", "object": {"kind": "Workflow", '
                                  '"metadata": {"namespace": "ml"}}}')  # a Workflow without a name
        wait_until(lambda: model.stats.skipped.get((WORKFLOWS, "malformed")) == 1,
                   what="the nameless Workflow skipped")
        api.fail_next(WORKFLOWS, 500, watch=True, count=2)
        api.drop_watches(WORKFLOWS)
        wait_until(lambda: restarts(model, WORKFLOWS, "error") == 2, what="two watch errors")
        watching(api, WORKFLOWS)
        api.put(WORKFLOWS, finished_workflow("after"))
        wait_until(lambda: runs(model, "Succeeded") == 1, what="a run after the errors")
        m = metrics(model)
        assert value(m, "argoscope_exporter_objects_skipped_total", resource="workflows",
                     reason="malformed_event") == 1
        assert value(m, "argoscope_exporter_objects_skipped_total", resource="workflows",
                     reason="malformed") == 1
        assert value(m, "argoscope_exporter_watch_restarts_total", resource="workflows",
                     reason="dropped") == 1
    # Two failed lists and two failed watches: each kind is logged once.
    messages = [r.getMessage() for r in caplog.records]
    assert sum("cannot list workflows" in msg for msg in messages) == 1
    assert sum("cannot watch workflows" in msg for msg in messages) == 1


def test_backoff_grows_to_a_bound_with_jitter(kubeconfig: Path) -> None:
    source = KubernetesSource(Model(), kubeconfig=str(kubeconfig), backoff_seconds=1.0,
                              backoff_max_seconds=8.0)
    delays = {failures: [source._backoff(failures) for _ in range(50)]
              for failures in (1, 2, 3, 4, 10)}
    for failures, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)):
        assert all(ceiling / 2 <= d <= ceiling for d in delays[failures]), failures
    assert len(set(delays[10])) > 1  # jittered, so many exporters do not retry in step


def test_in_cluster_config_is_used_in_a_pod(api: ApiServerDouble, kubeconfig: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from argoscope.exporter import kubeclient

    def in_cluster(client_configuration: Any) -> None:
        client_configuration.host = api.url  # what the service account would point at

    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setattr(kubeclient.config, "load_incluster_config", in_cluster)
    api.put(WORKFLOWS, finished_workflow("done"))
    model = Model()
    KubernetesSource(model).snapshot()
    assert runs(model, "Succeeded") == 1


def test_explicit_kubeconfig_wins_over_in_cluster(api: ApiServerDouble, kubeconfig: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from argoscope.exporter import kubeclient

    def in_cluster(client_configuration: Any) -> None:
        raise AssertionError("in-cluster config used despite --kubeconfig")

    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setattr(kubeclient.config, "load_incluster_config", in_cluster)
    api.put(WORKFLOWS, finished_workflow("done"))
    model = Model()
    KubernetesSource(model, kubeconfig=str(kubeconfig)).snapshot()
    assert runs(model, "Succeeded") == 1


def test_snapshot_counts_every_finished_object(api: ApiServerDouble, kubeconfig: Path) -> None:
    api.put(WORKFLOWS, finished_workflow("done"))
    api.put(WORKFLOWS, running_workflow("busy"))
    model = Model()
    make_source(model, kubeconfig).snapshot()
    assert model.stats.ready
    assert runs(model, "Succeeded") == 1
    assert total(metrics(model), "argoscope_step_runs_total") == 2
    assert api.watch_requests(WORKFLOWS) == []


def test_snapshot_list_refused_is_a_source_error(api: ApiServerDouble, kubeconfig: Path
                                                 ) -> None:
    api.fail_next(PODS, 403, reason="Forbidden")
    with pytest.raises(SourceError, match="pods in all namespaces: HTTP 403"):
        make_source(Model(), kubeconfig).snapshot()


def test_kubeconfig_context_is_honoured(api: ApiServerDouble, kubeconfig: Path) -> None:
    api.put(WORKFLOWS, finished_workflow("done"))
    model = Model()
    KubernetesSource(model, kubeconfig=str(kubeconfig), context="double").snapshot()
    assert runs(model, "Succeeded") == 1
    with pytest.raises(SourceError, match="no-such-context"):
        KubernetesSource(Model(), kubeconfig=str(kubeconfig), context="no-such-context")


def test_unreadable_kubeconfig_is_a_source_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(SourceError, match=str(missing)):
        KubernetesSource(Model(), kubeconfig=str(missing))


# --- the real exporter process -------------------------------------------------------------

def test_exporter_process_serves_the_watch_and_is_ready_after_the_list(
        api: ApiServerDouble, kubeconfig: Path) -> None:
    api.put(WORKFLOWS, finished_workflow("history"))
    with exporter(["--source", "kubernetes", "--kubeconfig", str(kubeconfig)]) as proc:
        watching(api, WORKFLOWS)
        api.put(WORKFLOWS, running_workflow("r1"))
        api.put(WORKFLOWS, finished_workflow("r1", phase="Failed"))

        def scraped() -> dict[Any, float]:
            return samples(http_get(f"{proc.url}/metrics"))

        wait_until(lambda: total(scraped(), "argoscope_workflow_runs_total") == 1,
                   what="the run counted")
        m = scraped()
        assert value(m, "argoscope_workflow_runs_total", namespace="ml", pipeline="train",
                     phase="Failed") == 1
        assert value(m, "argoscope_exporter_events_total", resource="workflows",
                     type="LIST") == 1
        assert http_get(f"{proc.url}/readyz")


def test_exporter_once_prints_the_snapshot(api: ApiServerDouble, kubeconfig: Path) -> None:
    api.put(WORKFLOWS, finished_workflow("done", phase="Failed"))
    result = subprocess.run(
        [sys.executable, "-m", "argoscope.cli", "exporter", "--source", "kubernetes",
         "--kubeconfig", str(kubeconfig), "--once"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert value(result.stdout, "argoscope_workflow_runs_total", namespace="ml",
                 pipeline="train", phase="Failed") == 1


def test_without_a_service_account_the_default_kubeconfig_is_used(
        api: ApiServerDouble, kubeconfig: Path) -> None:
    api.put(WORKFLOWS, finished_workflow("done"))
    # Looks like a pod (the service env is set) but has no service-account token here.
    env = dict(os.environ, KUBERNETES_SERVICE_HOST="127.0.0.1", KUBERNETES_SERVICE_PORT="1",
               KUBECONFIG=str(kubeconfig))
    result = subprocess.run(
        [sys.executable, "-m", "argoscope.cli", "exporter", "--source", "kubernetes", "--once"],
        capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert value(result.stdout, "argoscope_workflow_runs_total", namespace="ml",
                 pipeline="train", phase="Succeeded") == 1


def test_exporter_exits_2_naming_a_missing_kubeconfig(tmp_path: Path) -> None:
    missing = tmp_path / "absent-kubeconfig"
    result = subprocess.run(
        [sys.executable, "-m", "argoscope.cli", "exporter", "--source", "kubernetes",
         "--kubeconfig", str(missing), "--once"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert str(missing) in result.stderr


def test_a_refused_watch_makes_the_source_down_until_one_is_accepted(
        api: ApiServerDouble, kubeconfig: Path) -> None:
    model = Model()
    with following(make_source(model, kubeconfig)):
        watching(api, WORKFLOWS)
        wait_until(lambda: model.stats.ready, what="ready")
        api.fail_next(WORKFLOWS, 403, watch=True, count=10_000, reason="Forbidden")
        api.drop_watches(WORKFLOWS)
        wait_until(lambda: not model.stats.ready, what="not ready while refused")
        assert value(metrics(model), "argoscope_exporter_source_up", source="kubernetes") == 0
        api.clear_failures()
        wait_until(lambda: model.stats.ready, what="ready again")
        api.put(WORKFLOWS, finished_workflow("after"))
        wait_until(lambda: runs(model, "Succeeded") == 1, what="the next run counted")
        assert value(metrics(model), "argoscope_exporter_source_up", source="kubernetes") == 1


# --- transport that cannot be held ---------------------------------------------------------

def test_watches_that_all_end_at_once_are_retried_with_growing_backoff(
        api: ApiServerDouble, kubeconfig: Path) -> None:
    # Every watch of both resources is accepted and ended at once, empty: no error, nothing
    # delivered. Each retry must still wait, growing: backoff 0.05 s doubling to 0.4 s, with
    # jitter down to half. Counted from any watch n, the three waits after watch n + 1 (at
    # two failures or more) last at least 0.05 + 0.1 + 0.2 s before watch n + 4.
    api.end_watches_at_once(WORKFLOWS)
    api.end_watches_at_once(PODS)
    model = Model()
    source = KubernetesSource(model, kubeconfig=str(kubeconfig), backoff_seconds=0.05,
                              backoff_max_seconds=0.4)
    with following(source):
        wait_until(lambda: len(api.watch_requests(WORKFLOWS)) >= 1, what="a first watch")
        began = time.monotonic()
        seen = len(api.watch_requests(WORKFLOWS))
        wait_until(lambda: len(api.watch_requests(WORKFLOWS)) >= seen + 4
                   and len(api.watch_requests(PODS)) >= 5, what="four more watches")
        elapsed = time.monotonic() - began
        # A lower bound only: a slow machine makes it longer, never shorter.
        assert elapsed >= 0.05 + 0.1 + 0.2
        assert restarts(model, WORKFLOWS, "closed") >= 4
        api.end_watches_at_once(WORKFLOWS, on=False)
        api.end_watches_at_once(PODS, on=False)
        watching(api, WORKFLOWS)
        api.put(WORKFLOWS, finished_workflow("after"))
        wait_until(lambda: runs(model, "Succeeded") == 1, what="the next run counted")


def test_a_watch_line_that_never_ends_is_capped_counted_and_the_source_not_up(
        api: ApiServerDouble, kubeconfig: Path) -> None:
    model = Model()
    source = KubernetesSource(model, kubeconfig=str(kubeconfig), backoff_seconds=0.05,
                              backoff_max_seconds=0.2, max_line_bytes=64 * 1024,
                              unusable_grace_seconds=0.0)
    with following(source):
        watching(api, WORKFLOWS)
        wait_until(lambda: model.stats.ready, what="ready")
        # 4 MiB of one line, in pieces, and no end to it.
        for _ in range(64):
            api.inject_raw(WORKFLOWS, '{"type": "ADDED", "object": {"x": "' + "a" * 65536,
                           newline=False)
        wait_until(lambda: not model.stats.ready, what="not ready while the line goes on")
        m = metrics(model)
        assert value(m, "argoscope_exporter_source_up", source="kubernetes") == 0
        assert value(m, "argoscope_exporter_objects_skipped_total", resource="workflows",
                     reason="too_large") == 1
        # A new watch that delivers a usable event makes the source up again.
        api.drop_watches(WORKFLOWS)
        watching(api, WORKFLOWS)
        api.put(WORKFLOWS, finished_workflow("after"))
        wait_until(lambda: runs(model, "Succeeded") == 1, what="the next run counted")
        wait_until(lambda: model.stats.ready, what="ready again")


def test_a_watch_that_gives_only_garbage_for_a_while_makes_the_source_not_up(
        api: ApiServerDouble, kubeconfig: Path) -> None:
    model = Model()
    source = KubernetesSource(model, kubeconfig=str(kubeconfig), backoff_seconds=0.05,
                              backoff_max_seconds=0.2, unusable_grace_seconds=0.2)
    with following(source):
        watching(api, WORKFLOWS)
        wait_until(lambda: model.stats.ready, what="ready")

        def garbage_until_down() -> bool:
            api.inject_raw(WORKFLOWS, "{not json")
            return not model.stats.ready

        wait_until(garbage_until_down, what="not ready after garbage past the grace")
        assert value(metrics(model), "argoscope_exporter_source_up", source="kubernetes") == 0
        api.put(WORKFLOWS, finished_workflow("after"))
        wait_until(lambda: model.stats.ready, what="ready again on a usable event")
        assert runs(model, "Succeeded") == 1


@settings(max_examples=30, deadline=None)
@given(pieces=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=8),
       cuts=st.lists(st.integers(0, 400), max_size=6), cap=st.integers(1, 60))
def test_bounded_lines_yield_every_line_within_the_cap_and_skip_the_rest(
        pieces: list[bytes], cuts: list[int], cap: int) -> None:
    # Any lines, split into segments anywhere: the lines within the cap come out whole and in
    # order, each longer one is reported once, and nothing is held past the cap.
    stream = b"".join(piece + b"\n" for piece in pieces)
    bounds = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    segments = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    oversized: list[int] = []
    lines = list(bounded_lines(segments, cap, lambda: oversized.append(1), lambda: None))
    assert lines == [p.decode("utf-8", "replace") for p in pieces if len(p) <= cap]
    assert len(oversized) == sum(1 for p in pieces if len(p) > cap)
