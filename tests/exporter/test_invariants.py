"""The exporter's invariants (docs/design.md, "Invariants: order, form and names"), held over
Argo's own Workflows (`../shared/fixtures/argo-corpus/`) with Pods derived by Argo's naming rules.

Each property compares WHOLE expositions, produced the way `argoscope exporter --once --source
file:DUMP` produces them (the same parser, wiring and snapshot, in-process for speed; a few
cases run the real command), under what must not matter: the order of objects and events
(Workflows before or after their Pods, interleaved, replayed), the node-status form (inline,
`compressedNodes`, offloaded with Pods visible), display names, and the run's own name.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.cli import build_parser
from argoscope.exporter.app import build_exporter, run_once
from argoscope.exporter.objects import PIPELINE_LABEL, pipeline_name
from tests.support import argo_corpus
from tests.support.argo_corpus import (
    DISPLAY_NAMES,
    compressed,
    corpus_workflows,
    derive_pods,
    earlier,
    offloaded,
    renamed,
    with_checks,
    with_display_names,
    with_items,
    workflow,
)
from tests.support.metrics import samples

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

pytestmark = pytest.mark.skipif(not argo_corpus.CORPUS.is_dir(),
                                reason="../shared/fixtures/argo-corpus is absent")

SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# Families whose value is a clock reading at scrape time: their series are compared, not values.
CLOCK_FAMILIES = ("argoscope_exporter_last_event_age_seconds",
                  "argoscope_workflow_run_age_seconds")
# What the exporter counts per delivery, not per object: a replay delivers more.
DELIVERY_FAMILIES = ("argoscope_exporter_events_total",
                     "argoscope_exporter_objects_skipped_total")
# What only a node map can tell: an offloaded run has none (and says so).
NODE_FAMILIES = ("argoscope_step_", "argoscope_check_", "argoscope_feature_",
                 "argoscope_workflows_nodes_offloaded", "argoscope_exporter_unknown_reasons")
# Every run on the recent-runs families, however old Argo's test objects are.
ARGS = ["--recent-runs-retention", "36500d"]


def expose(objects: Sequence[Any]) -> Samples:
    """The exposition `argoscope exporter --once --source file:DUMP` prints for these objects
    (in this order), read back as samples, with clock readings zeroed."""
    with tempfile.TemporaryDirectory() as folder:
        dump = Path(folder) / "dump.json"
        dump.write_text(json.dumps(list(objects)))
        args = build_parser().parse_args(
            ["exporter", "--source", f"file:{dump}", "--once", *ARGS])
        text = run_once(build_exporter(args)).decode()
    return _zero_clocks(samples(text))


def _zero_clocks(found: Samples) -> Samples:
    return {key: 0.0 if key[0].startswith(CLOCK_FAMILIES) else v for key, v in found.items()}


def without(found: Samples, prefixes: Sequence[str]) -> Samples:
    return {key: v for key, v in found.items() if not key[0].startswith(tuple(prefixes))}


def without_node_skips(found: Samples) -> Samples:
    """Without skips of what only nodes hold (nodes, check documents): an offloaded run has none."""
    return {(name, labels): v for (name, labels), v in found.items()
            if not (name == "argoscope_exporter_objects_skipped_total"
                    and dict(labels)["resource"] in ("nodes", "argoscope-checks"))}


def same(found: Samples, expected: Samples) -> bool:
    """Whether two expositions are equal; if not, fails naming only the series that differ."""
    diff = {f"{name}{dict(labels)}": (found.get((name, labels)), expected.get((name, labels)))
            for name, labels in found.keys() | expected.keys()
            if found.get((name, labels)) != expected.get((name, labels))}
    assert not diff, "series that differ (found, expected):\n" + "\n".join(
        f"  {key}: {values}" for key, values in sorted(diff.items())[:30])
    return True


def _pipelines() -> list[list[int]]:
    """Corpus Workflows grouped by pipeline, where a pipeline has several runs."""
    groups: dict[tuple[str, str], list[int]] = {}
    for index in range(len(corpus_workflows())):
        meta = workflow(index)["metadata"]
        key = (str(meta.get("namespace")), pipeline_name(meta, workflow(index).get("spec") or {})[0])
        groups.setdefault(key, []).append(index)
    return [group for group in groups.values() if len(group) > 1]


def runs() -> st.SearchStrategy[list[int]]:
    """A handful of distinct corpus Workflows (by index): any, or runs of one pipeline (whose
    series they share, so that which one counts or shows last is put to the test)."""
    anywhere = st.lists(st.integers(0, len(corpus_workflows()) - 1), min_size=1, max_size=10,
                        unique=True)
    together = st.sampled_from(_pipelines()).flatmap(
        lambda group: st.lists(st.sampled_from(group), min_size=2, max_size=10, unique=True))
    return st.one_of(anywhere, together)


def run_and_pods(indexes: Sequence[int], version: str) -> tuple[list[Any], list[Any]]:
    """Corpus Workflows (their steps reporting check documents) and their derived Pods."""
    workflows = [with_checks(workflow(i)) for i in indexes]
    # A cluster holds one Pod per namespace and name. Some corpus runs are copies of another
    # under a new name that kept its node ids, so their v1 Pod names (the node id) collide:
    # the first one's Pod is kept, as a cluster would refuse the second.
    pods: dict[tuple[str, str], Any] = {}
    for wf in workflows:
        for pod in derive_pods(wf, version):
            meta = pod["metadata"]
            pods.setdefault((str(meta.get("namespace")), str(meta["name"])), pod)
    return workflows, list(pods.values())


def test_the_corpus_is_read_with_pods_of_both_naming_versions() -> None:
    # The material the properties below stand on: enough runs, their Pod nodes, live ones.
    assert len(corpus_workflows()) > 80
    _, pods = run_and_pods(range(len(corpus_workflows())), "v2")
    assert len(pods) > 200
    names = {p["metadata"]["name"] for p in pods}
    assert len(names) == len(pods)  # v2 names are unique per node, as in a cluster
    assert {p["status"]["phase"] for p in pods} >= {"Pending", "Running", "Succeeded", "Failed"}
    _, v1 = run_and_pods(range(len(corpus_workflows())), "v1")
    assert {p["metadata"]["annotations"]["workflows.argoproj.io/node-id"] for p in v1} == {
        p["metadata"]["name"] for p in v1}


# --- order -----------------------------------------------------------------------------------

@SETTINGS
@given(runs(), st.sampled_from(["v1", "v2"]), st.randoms(use_true_random=False))
def test_the_order_of_objects_does_not_matter(indexes: list[int], version: str,
                                              random: Any) -> None:
    workflows, pods = run_and_pods(indexes, version)
    workflows_first = expose(workflows + pods)
    shuffled = workflows + pods
    random.shuffle(shuffled)
    assert same(expose(pods + workflows), workflows_first)
    assert same(expose(shuffled), workflows_first)


@SETTINGS
@given(runs(), st.randoms(use_true_random=False))
def test_replayed_objects_add_nothing(indexes: list[int], random: Any) -> None:
    workflows, pods = run_and_pods(indexes, "v2")
    once = expose(workflows + pods)
    # Every object delivered again (a re-list, a watch restart), some a third time, interleaved
    # so that each object's copies keep their order (as a watch keeps one object's events).
    replayed = workflows + pods + random.sample(workflows + pods, k=len(workflows + pods))
    replayed += random.sample(replayed, k=min(5, len(replayed)))
    assert same(without(expose(replayed), DELIVERY_FAMILIES), without(once, DELIVERY_FAMILIES))


@SETTINGS
@given(runs(), st.randoms(use_true_random=False))
def test_earlier_versions_interleaved_do_not_matter(indexes: list[int], random: Any) -> None:
    # A watch shows each object's history in order, but the histories of different objects
    # (a run, its pods) interleave however they like.
    workflows, pods = run_and_pods(indexes, "v2")
    final = expose(workflows + pods)
    tokens = [i for i in range(len(workflows + pods)) for _ in (0, 1)]
    random.shuffle(tokens)
    seen: set[int] = set()
    events = []
    for i in tokens:
        obj = (workflows + pods)[i]
        events.append(obj if i in seen else earlier(obj))
        seen.add(i)
    assert same(without(expose(events), DELIVERY_FAMILIES), without(final, DELIVERY_FAMILIES))


# --- form ------------------------------------------------------------------------------------

@SETTINGS
@given(runs(), st.sampled_from(["v1", "v2"]))
def test_compressed_nodes_read_as_inline_nodes(indexes: list[int], version: str) -> None:
    workflows, pods = run_and_pods(indexes, version)
    assert same(expose([compressed(wf) for wf in workflows] + pods), expose(workflows + pods))


@SETTINGS
@given(runs(), st.sampled_from(["v1", "v2"]), st.booleans())
def test_offloaded_nodes_give_the_same_run_and_live_pod_series(
        indexes: list[int], version: str, pods_first: bool) -> None:
    workflows, pods = run_and_pods(indexes, version)
    inline = expose(workflows + pods)
    away = [offloaded(wf) for wf in workflows]
    shown = expose(pods + away if pods_first else away + pods)
    # Everything read from the Workflow object and from live pods is the same, live pods'
    # steps included (from their node-name annotation); only the node-derived families differ.
    assert same(without_node_skips(without(shown, NODE_FAMILIES)),
                without_node_skips(without(inline, NODE_FAMILIES)))


# --- names -----------------------------------------------------------------------------------

@SETTINGS
@given(runs(), st.sampled_from(DISPLAY_NAMES))
def test_display_names_do_not_matter(indexes: list[int], style: Any) -> None:
    workflows, pods = run_and_pods(indexes, "v2")
    shown = [with_display_names(wf, style) for wf in workflows]
    assert same(expose(shown + pods), expose(workflows + pods))


def _fanned_out() -> list[int]:
    """Corpus Workflows with fan-out items in their node names."""
    return [index for index, text in enumerate(corpus_workflows()) if re.search(
        r"\(\d+:", text)]


# Item values as withItems/withParam give them (an item spelling `).name(` is read as
# structure: docs/design.md).
hostile_items = st.sampled_from(["a.b", "log)", "v1.2.3", '{"key": "v.w"}', "x(1)", "(",
                                 "", "os-{{item}}", "a b", "[0]"])


@SETTINGS
@given(st.lists(st.sampled_from(_fanned_out()), min_size=1, max_size=4, unique=True),
       hostile_items, st.booleans())
def test_item_values_do_not_matter(indexes: list[int], item: str, offload: bool) -> None:
    workflows, pods = run_and_pods(indexes, "v2")
    if offload:
        workflows = [offloaded(wf) for wf in workflows]
    assert same(expose(with_items(workflows + pods, item)), expose(workflows + pods))


renames = st.sampled_from(["{}.v2", "a.b.{}", "{}-x7k2p", "r", "{}.onExit", "nightly.{}(1)"])


@SETTINGS
@given(runs(), renames, st.booleans())
def test_the_runs_own_name_does_not_matter(indexes: list[int], pattern: str,
                                           offload: bool) -> None:
    workflows, pods = run_and_pods(indexes, "v2")
    if offload:
        workflows = [offloaded(wf) for wf in workflows]
    base, moved, names = [], [], {}
    for number, wf in enumerate(workflows):
        old = wf["metadata"]["name"]
        new = pattern.format(old) if "{}" in pattern else f"{pattern}{number}"
        names[new] = old
        mine = [p for p in pods if p["metadata"]["labels"]["workflows.argoproj.io/workflow"]
                == old]
        # The pipeline as the operator pins it (a run named after nothing else would be its
        # own pipeline: that fallback is the run's name by definition).
        pinned = wf["metadata"].setdefault("labels", {})
        pinned[PIPELINE_LABEL] = pipeline_name(wf["metadata"], wf.get("spec") or {})[0]
        base += [wf, *mine]
        moved += renamed([wf, *mine], old, new)
    expected = expose(base)
    found = expose(moved)
    back = {(name, frozenset((k, names.get(v, v) if k == "workflow" else v) for k, v in labels)):
            value for (name, labels), value in found.items()}
    assert same(back, expected)


# --- through the real command ----------------------------------------------------------------

def _cli(dump: Path) -> Samples:
    result = subprocess.run(
        [sys.executable, "-m", "argoscope.cli", "exporter", "--source", f"file:{dump}", "--once",
         *ARGS], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return _zero_clocks(samples(result.stdout))


def test_the_command_gives_one_answer_for_a_dump_in_either_order(tmp_path: Path) -> None:
    # `kubectl get workflows,pods -o yaml` (Workflows first, as the README says) and the same
    # objects Pods first, each kind in reverse; the same runs offloaded, with their Pods; and
    # with display names such as `{{workflow.name}}.{{inputs.parameters.x}}(0:a.b)`.
    workflows, pods = run_and_pods(range(len(corpus_workflows())), "v2")
    dumps = {"workflows-first": workflows + pods, "pods-first": pods[::-1] + workflows[::-1],
             "offloaded": pods + [offloaded(wf) for wf in workflows],
             "display-names": [with_display_names(wf, DISPLAY_NAMES[2]) for wf in workflows]
             + pods}
    found = {}
    for name, objects in dumps.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
        found[name] = _cli(path)
    assert same(found["pods-first"], found["workflows-first"])
    assert same(found["display-names"], found["workflows-first"])
    assert same(without_node_skips(without(found["offloaded"], NODE_FAMILIES)),
                without_node_skips(without(found["workflows-first"], NODE_FAMILIES)))
    # What the order used to decide: pending time and the deadline's reason.
    s = found["workflows-first"]
    assert any(n == "argoscope_step_pending_seconds_count" for n, _ in s)
    assert any(n == "argoscope_steps_waiting" for n, _ in s)
