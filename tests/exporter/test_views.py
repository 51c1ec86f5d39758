"""Decoded once (docs/design.md, "Invariants: decoded once"), over Argo's own Workflows with
Pods derived by Argo's naming rules.

- Applying a Workflow or a Pod reads each field of the object at most once: the store, the
  counting rules and the gauges read only the view `views.py` decoded at the model's entry.
- The view is the same whatever form the object came in (inline or compressed nodes).
- Malformed nodes are found at decode, listed in the view and counted, once each; the other
  nodes of the run decode exactly as they do without them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.exporter import store as store_module
from argoscope.exporter.reasons import PodFacts
from argoscope.exporter.store import PODS, WORKFLOWS, Store
from argoscope.exporter.views import (
    NodeView,
    PodView,
    WorkflowView,
    decode_pod,
    decode_workflow,
)
from tests.support import argo_corpus
from tests.support.argo_corpus import (
    compressed,
    corpus_workflows,
    derive_pods,
    earlier,
    offloaded,
    workflow,
)

pytestmark = pytest.mark.skipif(not argo_corpus.CORPUS.is_dir(),
                                reason="../shared/fixtures/argo-corpus is absent")

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
HOSTILE_NODES = st.sampled_from([None, "node", ["a"], 3, 1.5, True])

Reads = Counter[tuple[str, str]]


class Recorded(Mapping[str, Any]):
    """A read-only view of a decoded JSON object that counts each read of each field, by path
    (a lookup or an iteration that yields the value both count)."""

    def __init__(self, value: Mapping[str, Any], reads: Reads, path: str = "") -> None:
        self._value = {key: _record(item, reads, f"{path}/{key}") for key, item in value.items()}
        self._reads = reads
        self._path = path

    def __getitem__(self, key: str) -> Any:
        found = self._value[key]  # KeyError first: an absent field is not a read
        self._reads[(self._path, key)] += 1
        return found

    def get(self, key: str, default: Any = None) -> Any:
        self._reads[(self._path, key)] += 1
        return self._value.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._value)

    def __len__(self) -> int:
        return len(self._value)


def _record(value: Any, reads: Reads, path: str) -> Any:
    if isinstance(value, Mapping):
        return Recorded(value, reads, path)
    if isinstance(value, list):
        return [_record(item, reads, f"{path}[{i}]") for i, item in enumerate(value)]
    return value


def read_twice(resource: str, obj: Mapping[str, Any], store: Store, replay: bool
               ) -> list[tuple[str, str]]:
    """The fields `store.apply` read more than once while applying `obj`."""
    reads: Reads = Counter()
    store.apply(resource, "ADDED", Recorded(obj, reads), replay=replay)
    return sorted(field for field, count in reads.items() if count > 1)


def _nodes(view: WorkflowView) -> list[tuple[Any, ...]]:
    """A view's nodes without the raw node (which is whatever object was decoded)."""
    return [tuple(node)[:-1] for node in view.nodes]


def _nothing_counted(namespace: str, name: str, uid: str) -> frozenset[str]:
    return frozenset()


def _offload_version_with_nodes(wf: dict[str, Any]) -> dict[str, Any]:
    """A run that says its nodes were offloaded, and still carries them inline."""
    return {**wf, "status": {**(wf.get("status") or {}), "offloadNodeStatusVersion": "v1"}}


FORMS = st.sampled_from([lambda wf: wf, compressed, offloaded, _offload_version_with_nodes])


@SETTINGS
@given(index=st.integers(0, len(corpus_workflows()) - 1), version=st.sampled_from(["v1", "v2"]),
       replay=st.booleans(), pods_first=st.booleans(), form=FORMS)
def test_applying_an_object_reads_each_field_once(index: int, version: str, replay: bool,
                                                  pods_first: bool, form: Any) -> None:
    pods = derive_pods(workflow(index), version)
    wf = form(workflow(index))
    store = Store()  # no observers: only the model's own reading is measured
    objects = [(PODS, pod) for pod in pods] + [(WORKFLOWS, wf)]
    if not pods_first:
        objects.reverse()
    for resource, obj in objects:
        assert read_twice(resource, obj, store, replay) == [], resource
    # A later version of the run (a MODIFIED event) is read once too.
    assert read_twice(WORKFLOWS, wf, store, replay) == []
    assert not store.stats.skipped, store.stats.skipped


@SETTINGS
@given(index=st.integers(0, len(corpus_workflows()) - 1), times=st.booleans())
def test_a_view_is_the_same_whatever_the_node_form(index: int, times: bool) -> None:
    wf = workflow(index)
    inline = decode_workflow(wf, "ADDED", _nothing_counted, times=times)
    packed = decode_workflow(compressed(wf), "ADDED", _nothing_counted, times=times)
    assert inline._replace(nodes=()) == packed._replace(nodes=())
    assert _nodes(inline) == _nodes(packed)
    assert all(isinstance(node, NodeView) for node in inline.nodes)


@SETTINGS
@given(index=st.integers(0, len(corpus_workflows()) - 1), data=st.data())
def test_malformed_nodes_are_found_at_decode_and_counted_once(index: int, data: Any) -> None:
    wf = workflow(index)
    nodes = (wf.get("status") or {}).get("nodes") or {}
    if not nodes:
        return  # nothing to spoil in a run without nodes
    spoiled = data.draw(st.lists(st.sampled_from(sorted(nodes)), min_size=1, unique=True))
    bad = {**wf, "status": {**wf["status"], "nodes": {
        node_id: data.draw(HOSTILE_NODES) if node_id in spoiled else node
        for node_id, node in nodes.items()}}}

    clean = decode_workflow(wf, "ADDED", _nothing_counted, times=True)
    view = decode_workflow(bad, "ADDED", _nothing_counted, times=True)
    assert sorted(node_id for node_id, _ in view.faults) == sorted(spoiled)
    assert _nodes(view) == [node for node in _nodes(clean) if node[0] not in spoiled]

    store = Store()
    store.apply(WORKFLOWS, "ADDED", bad)
    assert store.stats.skipped == {("nodes", "malformed"): len(spoiled)}
    store.apply(WORKFLOWS, "MODIFIED", bad)  # still unreadable: counted again, per delivery
    assert store.stats.skipped == {("nodes", "malformed"): 2 * len(spoiled)}


@SETTINGS
@given(index=st.integers(0, len(corpus_workflows()) - 1), version=st.sampled_from(["v1", "v2"]))
def test_a_pod_view_names_its_run_and_node(index: int, version: str) -> None:
    wf = workflow(index)
    run = decode_workflow(wf, "ADDED", _nothing_counted, times=False)
    node_ids = {node.id for node in run.nodes}
    for pod in derive_pods(wf, version):
        view = decode_pod(pod, "ADDED")
        assert (view.namespace, view.workflow) == (run.namespace, run.name)
        assert view.node_id in node_ids
        assert view.facts is not None and view.facts_error is None


@SETTINGS
@given(index=st.integers(0, len(corpus_workflows()) - 1),
       stamp=st.sampled_from(["yesterday", "2026-13-45T00:00:00Z", "12:00", "0"]),
       field=st.sampled_from(["creationTimestamp", "startedAt"]))
def test_an_unreadable_object_changes_nothing(index: int, stamp: str, field: str) -> None:
    """A new object under a known run's name, that cannot be read, leaves the known run as it
    was (it is decoded whole before the store changes anything) and is counted."""
    wf = workflow(index)
    store = Store()
    store.apply(WORKFLOWS, "ADDED", wf)
    before = dict(store.runs)
    run = before[next(iter(before))]
    kept = (run.uid, run.phase, run.started, run.finished, dict(run.steps))
    meta = {**wf["metadata"], "uid": "a-new-object"}
    status = dict(wf.get("status") or {})
    if field == "creationTimestamp":
        meta[field] = stamp
    else:
        status[field] = stamp
    store.apply(WORKFLOWS, "MODIFIED", {**wf, "metadata": meta, "status": status})
    assert dict(store.runs) == before
    assert (run.uid, run.phase, run.started, run.finished, dict(run.steps)) == kept
    assert store.stats.skipped == {("workflows", "malformed"): 1}


@SETTINGS
@given(index=st.integers(0, len(corpus_workflows()) - 1), version=st.sampled_from(["v1", "v2"]),
       deleted=st.booleans())
def test_views_are_never_changed_by_the_store(index: int, version: str, deleted: bool) -> None:
    """The store merges what a pod said before into its own record (a failure seen is kept),
    never into a decoded view: each view's facts stay as decoded, whatever followed them."""
    wf = workflow(index)
    store = Store()
    store.apply(WORKFLOWS, "ADDED", wf)
    seen: list[tuple[PodView, PodFacts]] = []

    def recording(obj: Mapping[str, Any], event: str) -> PodView:
        view = decode_pod(obj, event)
        assert view.facts is not None
        seen.append((view, replace(view.facts)))
        return view

    with patch.object(store_module, "decode_pod", recording):
        for pod in derive_pods(wf, version):
            # Finished first, then a version that says less (running, no reason), maybe gone.
            store.apply(PODS, "ADDED", pod)
            store.apply(PODS, "MODIFIED", earlier(pod))
            if deleted:
                store.apply(PODS, "DELETED", earlier(pod))
            first = seen[-3 if deleted else -2][1]
            meta = pod["metadata"]
            kept = store._pods[(meta.get("namespace") or "default", meta["name"])].facts
            assert kept.failure_reason == first.failure_reason  # a failure seen is kept
    assert all(view.facts == decoded for view, decoded in seen)
    assert not store.stats.skipped
