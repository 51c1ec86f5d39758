"""The exposition cache (docs/design.md, "Invariants: cached exposition"): whatever happened
between scrapes, the served exposition is byte for byte a fresh full rendering of the same
state, in every format, gzip or not; a failing collector is still left out alone.

Two identical models take the same events (Argo's own Workflows and the Pods Argo would make
for them, `../shared/fixtures/argo-corpus/`): one is served through `/metrics` with every
cache, the other is rendered afresh by prometheus_client's encoder at each scrape.
"""

from __future__ import annotations

import gzip
import http.client
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest

from argoscope.exporter import families as f
from argoscope.exporter import render
from argoscope.exporter.app import Exporter
from argoscope.exporter.checkdocs import CheckDocuments
from argoscope.exporter.exposition import FormatCache
from argoscope.exporter.model import PODS, WORKFLOWS, Model, ModelConfig
from argoscope.exporter.server import MetricsServer, build_registry, metrics_app
from argoscope.exporter.stats import ExporterStats
from tests.support import argo, argo_corpus
from tests.support.argo_corpus import corpus_workflows, derive_pods, earlier, with_checks
from tests.support.clock import Clock
from tests.support.metrics import samples, total, value

needs_corpus = pytest.mark.skipif(not argo_corpus.CORPUS.is_dir(),
                                  reason="../shared/fixtures/argo-corpus is absent")

TEXT = ""  # no Accept header: the classic text format
OPENMETRICS = "application/openmetrics-text; version=1.0.0"
FORMATS = (TEXT, OPENMETRICS, "text/plain; version=1.0.0; escaping=allow-utf-8")
# Small caps, so drops, tenant budgets and the recent-runs cut happen within a few runs.
CONFIGS = (
    ModelConfig(recent_runs_retention_seconds=3 * 365 * 86400.0, recent_runs_max=4,
                max_series_per_family=12, max_series_per_namespace=6, max_namespaces=2),
    ModelConfig(recent_runs_retention_seconds=86400.0, recent_runs_max=500,
                series_retention_seconds=7 * 86400.0),
)


def _model(config: ModelConfig, clock: Clock) -> Model:
    model = Model(config, clock=clock)
    model.observers.append(CheckDocuments(model.stats, max_series=config.max_series_per_family,
                                          clock=clock, tenants=model.tenants))
    return model


class Twins:
    """The same events into two models: `served` through the app and its caches, `fresh`
    rendered afresh by prometheus_client at every scrape."""

    def __init__(self, config: ModelConfig, now: float) -> None:
        self.clock = Clock(now)
        self.served = _model(config, self.clock)
        self.fresh = _model(config, self.clock)
        self.app = metrics_app(Exporter(self.served, []).registry(),
                               self.served.stats.collect_error)

    def apply(self, resource: str, event: str, obj: dict[str, Any]) -> None:
        for model in (self.served, self.fresh):
            model.apply(resource, event, obj)

    def scrape(self, accept: str, zipped: bool) -> tuple[bytes, bytes]:
        """(served body, decompressed if gzip; a fresh full rendering of the twin)."""
        environ = {"REQUEST_METHOD": "GET", "HTTP_ACCEPT": accept,
                   "HTTP_ACCEPT_ENCODING": "gzip" if zipped else ""}
        headers: dict[str, str] = {}
        body = b"".join(self.app(environ, lambda status, h: headers.update(h)))
        assert int(headers["Content-Length"]) == len(body)
        if zipped:
            assert headers["Content-Encoding"] == "gzip"
            body = gzip.decompress(body)
        self.fresh.counters.forget_rendered()
        registry = build_registry(self.fresh.collect, self.fresh.stats.collect,
                                  on_error=self.fresh.stats.collect_error)
        if accept.startswith("application/openmetrics-text"):
            return body, openmetrics_latest(registry)
        if "escaping=allow-utf-8" in accept:
            return body, generate_latest(registry, escaping="allow-utf-8")
        return body, generate_latest(registry)


def _assert_same(served: bytes, fresh: bytes) -> None:
    if served != fresh:
        a, b = served.decode().splitlines(), fresh.decode().splitlines()
        differing = sorted(set(a) ^ set(b))[:10]
        pytest.fail(f"cached exposition differs from a fresh rendering: {differing}"
                    if differing else "cached exposition has the same lines in another order")


def _objects(index: int, stage: str) -> list[tuple[str, dict[str, Any]]]:
    """A corpus run as the cluster shows it at `stage`, its Pods first (as a list delivers)."""
    wf = argo_corpus.workflow(index)
    if stage == "earlier":
        wf = earlier(wf)
    elif stage == "checks":
        wf = with_checks(wf)
    return [(PODS, pod) for pod in derive_pods(wf)] + [(WORKFLOWS, wf)]


Step = tuple[Any, ...]
_RUNS = 24  # corpus runs a sequence draws from (a few hundred KiB each at most)

steps = st.one_of(
    st.tuples(st.just("apply"), st.integers(0, _RUNS - 1),
              st.sampled_from(["earlier", "full", "checks"])),
    st.tuples(st.just("delete"), st.integers(0, _RUNS - 1)),
    st.tuples(st.just("tick"), st.sampled_from([0.0, 1.0, 600.0, 2 * 86400.0, 400 * 86400.0])),
    st.tuples(st.just("scrape"), st.sampled_from(FORMATS), st.booleans()),
)


@needs_corpus
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(config=st.sampled_from(CONFIGS), sequence=st.lists(steps, min_size=1, max_size=14))
def test_after_any_events_and_scrapes_the_cached_exposition_is_a_fresh_rendering(
        config: ModelConfig, sequence: list[Step]) -> None:
    runs = min(_RUNS, len(corpus_workflows()))
    twins = Twins(config, now=1.7e9)
    for step in [*sequence, ("scrape", TEXT, False), ("scrape", OPENMETRICS, True)]:
        if step[0] == "apply":
            for resource, obj in _objects(step[1] % runs, step[2]):
                twins.apply(resource, "MODIFIED", obj)
        elif step[0] == "delete":
            for resource, obj in reversed(_objects(step[1] % runs, "full")):
                twins.apply(resource, "DELETED", obj)
        elif step[0] == "tick":
            twins.clock.now += step[1]
        else:
            _assert_same(*twins.scrape(step[1], step[2]))


@needs_corpus
def test_the_whole_corpus_is_served_as_a_fresh_rendering_and_only_changes_are_rendered() -> None:
    twins = Twins(ModelConfig(recent_runs_retention_seconds=3 * 365 * 86400.0), now=1.7e9)
    runs = len(corpus_workflows())
    for index in range(runs):
        for resource, obj in _objects(index, "earlier"):
            twins.apply(resource, "ADDED", obj)
    for accept in FORMATS:
        _assert_same(*twins.scrape(accept, zipped=False))
    cache = twins.app.flights.cache.format(*reversed(choose_encoder("")))  # type: ignore[attr-defined]
    rendered = cache.rendered_series
    flights = twins.app.flights  # type: ignore[attr-defined]
    # Nothing changed: a second scrape renders no series again, and gzip compresses only
    # what changed since the first gzip (the exporter's own counters of this scrape).
    _assert_same(*twins.scrape(TEXT, zipped=True))
    compressed = flights.compressions
    _assert_same(*twins.scrape(TEXT, zipped=True))
    assert cache.rendered_series == rendered
    assert flights.compressions - compressed <= 2
    # One run moves on: only the series it changes are rendered, not the exposition; only
    # the families holding them are compressed again.
    for resource, obj in _objects(0, "full"):
        twins.apply(resource, "MODIFIED", obj)
    compressed = flights.compressions
    served, fresh = twins.scrape(TEXT, zipped=True)
    _assert_same(served, fresh)
    series = sum(1 for line in served.splitlines() if not line.startswith(b"#"))
    families = served.count(b"# TYPE ")
    assert 0 < cache.rendered_series - rendered < series / 4
    assert 0 < flights.compressions - compressed < families / 2


RUNNING = {"namespace": "ml", "pipeline": "train", "phase": "Running"}


def test_a_collector_failing_after_cached_scrapes_is_left_out_alone_and_comes_back() -> None:
    stats = ExporterStats()
    failing = {"now": False}

    def flaky() -> Iterator[Metric]:
        yield render.gauge(f.WORKFLOWS, [(("ml", "train", "Running"), 1.0)])
        if failing["now"]:
            raise RuntimeError("collector bug")

    def steady() -> Iterable[Metric]:
        return [render.counter(f.WORKFLOW_RUNS, [(("ml", "train", "Succeeded"), 3.0)])]

    app = metrics_app(build_registry(flaky, steady, stats.collect,
                                      on_error=stats.collect_error), stats.collect_error)

    def scrape() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        return samples(b"".join(app({"REQUEST_METHOD": "GET"}, lambda *a: None)).decode())

    first = scrape()
    assert value(first, "argoscope_workflows", **RUNNING) == 1
    failing["now"] = True
    second = scrape()
    assert not any(name == "argoscope_workflows" for name, _ in second)
    assert value(second, "argoscope_workflow_runs_total", namespace="ml", pipeline="train",
                 phase="Succeeded") == 3
    assert total(second, "argoscope_exporter_collect_errors_total") == 1
    failing["now"] = False
    assert value(scrape(), "argoscope_workflows", **RUNNING) == 1


def test_a_label_that_cannot_be_encoded_is_served_replaced_and_counted_at_every_scrape() -> None:
    stats = ExporterStats()

    def odd() -> Iterable[Metric]:  # a value that slipped past every label guard
        return [render.gauge(f.WORKFLOWS, [(("ml", "x\ud800", "Running"), 1.0),
                                           (("ml", "train", "Running"), 2.0)])]

    app = metrics_app(build_registry(odd, stats.collect, on_error=stats.collect_error),
                      stats.collect_error)
    for scrape in (1, 2, 3):
        body = b"".join(app({"REQUEST_METHOD": "GET"}, lambda *a: None)).decode("utf-8")
        s = samples(body)
        assert value(s, "argoscope_workflows", **{**RUNNING, "pipeline": "x\ufffd"}) == 1
        assert value(s, "argoscope_workflows", **RUNNING) == 2
        # Counted as it was before the cache: once per scrape that served it replaced (this
        # one included: the exporter's own families are rendered after the others).
        assert value(s, "argoscope_exporter_collect_errors_total",
                     collector="encode") == scrape


_LABELS = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)


@given(rounds=st.lists(st.lists(_LABELS, max_size=40), max_size=12),
       format_=st.sampled_from([generate_latest, openmetrics_latest]))
@settings(max_examples=30, deadline=None)
def test_the_cache_holds_lines_for_about_the_series_served_whatever_the_churn(
        rounds: list[list[str]], format_: Callable[..., bytes]) -> None:
    cache = FormatCache(format_, lambda: None)
    for number, names in enumerate(rounds):
        rows = {(name, name, "Running"): float(number % 3) for name in names}
        metric = render.gauge(f.WORKFLOWS, rows.items())
        body = cache.render(metric)
        registry = build_registry(lambda m=metric: [m])
        fresh = format_(registry)
        assert body == (fresh[:-len(b"# EOF\n")] if fresh.endswith(b"# EOF\n") else fresh)
        assert cache.lines_kept() <= 2 * len(rows) + 64


# Synthetic runs for what the corpus rarely shows: runs finished at the same moment, a run
# live again after it finished, a name reused by a new object, many changes at once.
_PHASES = ["Pending", "Running", "Succeeded", "Failed"]
_WAITING = [None, "ImagePullBackOff", "ContainerCreating"]

synthetic_steps = st.one_of(
    st.tuples(st.just("run"), st.integers(0, 7), st.sampled_from(_PHASES),
              st.sampled_from([100.0, 200.0]), st.sampled_from(["a", "b"]),
              st.sampled_from(["ml", "ml", "ds"]), st.integers(0, 1)),
    st.tuples(st.just("delete"), st.integers(0, 7)),
    st.tuples(st.just("pod"), st.integers(0, 7), st.sampled_from(_WAITING),
              st.sampled_from(["Pending", "Running", "Succeeded"]), st.booleans()),
    st.tuples(st.just("pod-delete"), st.integers(0, 7)),
    st.tuples(st.just("many"), st.sampled_from(_PHASES)),
    st.tuples(st.just("tick"), st.sampled_from([0.0, 50.0, 400.0])),
    st.tuples(st.just("scrape"), st.sampled_from(FORMATS), st.booleans()),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=st.lists(synthetic_steps, min_size=3, max_size=25))
# The interleavings that matter, always tried: a waiting pod before its run, a deleted run in
# the window, a run finished exactly at the window's edge, a run live again after finishing,
# a name reused by a new object (a new position), many changes at once.
@example(sequence=[("pod", 0, "ImagePullBackOff", "Pending", True),
                   ("run", 0, "Running", 100.0, "a", "ml", 0)])
@example(sequence=[("run", 0, "Succeeded", 200.0, "a", "ml", 0), ("delete", 0)])
@example(sequence=[("run", 0, "Succeeded", 200.0, "a", "ml", 0), ("tick", 400.0)])
@example(sequence=[("run", 0, "Running", 100.0, "a", "ml", 0),
                   ("run", 1, "Running", 100.0, "a", "ml", 0),
                   ("run", 0, "Succeeded", 100.0, "a", "ml", 0),
                   ("run", 0, "Running", 100.0, "a", "ml", 0)])
@example(sequence=[("run", 0, "Running", 100.0, "a", "ml", 0),
                   ("run", 1, "Running", 100.0, "b", "ml", 0),
                   ("run", 0, "Running", 100.0, "a", "ml", 1)])
@example(sequence=[("many", "Succeeded"), ("many", "Running"), ("tick", 400.0)])
def test_run_and_waiting_totals_kept_from_changes_are_those_of_a_full_pass(
        sequence: list[Step]) -> None:
    twins = Twins(ModelConfig(recent_runs_retention_seconds=500.0, recent_runs_max=3),
                  now=argo.T0 + 300)
    where: dict[int, tuple[str, str]] = {}  # run -> (namespace, uid) last applied
    for step in [*sequence, ("scrape", TEXT, False)]:
        if step[0] == "run":
            _, i, phase, finish, pipeline, namespace, uid = step
            where[i] = (namespace, f"uid-{i}-{uid}")
            nodes = [argo.node(f"r{i}", "train", phase="Pending", node_id=f"r{i}-1")]
            twins.apply(WORKFLOWS, "MODIFIED", argo.workflow(
                f"r{i}", nodes, phase=phase, namespace=namespace, finish=finish,
                template_ref=pipeline, uid=where[i][1]))
        elif step[0] == "delete" and step[1] in where:
            twins.apply(WORKFLOWS, "DELETED", argo.workflow(
                f"r{step[1]}", namespace=where[step[1]][0], uid=where[step[1]][1]))
        elif step[0] in ("pod", "pod-delete"):
            i = step[1]
            namespace = where.get(i, ("ml", ""))[0]
            known = step[0] == "pod-delete" or step[4]
            obj = argo.pod(f"r{i}", f"r{i}-1" if known else f"r{i}-9", namespace=namespace,
                           name=f"r{i}-pod", node_name=f"r{i}.train",
                           **({} if step[0] == "pod-delete" else
                              {"waiting": step[2], "phase": step[3]}))
            twins.apply(PODS, "DELETED" if step[0] == "pod-delete" else "MODIFIED", obj)
        elif step[0] == "many":
            for j in range(70):
                twins.apply(WORKFLOWS, "MODIFIED", argo.workflow(
                    f"m{j}", phase=step[1], finish=100.0 + j % 3, template_ref=f"p{j % 4}"))
        elif step[0] == "tick":
            twins.clock.now += step[1]
        # A scrape after every step: each change meets totals kept from the one before.
        _assert_same(*twins.scrape(*(step[1:] if step[0] == "scrape" else (TEXT, False))))


def test_openmetrics_and_gzip_are_negotiated_over_http_from_the_cache() -> None:
    model = _model(CONFIGS[1], Clock(argo.T0 + 300))
    nodes = [argo.node("r0", "train", phase="Succeeded", node_id="r0-1")]
    model.apply(WORKFLOWS, "ADDED", argo.workflow("r0", nodes))
    server = MetricsServer(Exporter(model, []).registry(), "127.0.0.1", 0, lambda: True,
                           on_error=model.stats.collect_error)
    server.start()
    try:
        answers = []
        for _ in range(2):  # the second from the cache
            for accept, zipped in ((OPENMETRICS, False), (OPENMETRICS, True), ("", True)):
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                connection.request("GET", "/metrics", headers={
                    "Accept": accept, "Accept-Encoding": "gzip" if zipped else "identity"})
                response = connection.getresponse()
                body = response.read()
                connection.close()
                assert response.status == 200
                assert (response.getheader("Content-Encoding") == "gzip") == zipped
                answers.append((response.getheader("Content-Type"),
                                gzip.decompress(body) if zipped else body))
        openmetrics, zipped_openmetrics, text = answers[:3]
        assert openmetrics[0].startswith("application/openmetrics-text")
        assert openmetrics[1] == zipped_openmetrics[1]
        assert openmetrics[1].endswith(b"# EOF\n") and openmetrics[1].count(b"# EOF") == 1
        assert text[0].startswith("text/plain") and b"# EOF" not in text[1]
        assert b"argoscope_workflow_runs_total{" in text[1]
        assert answers[3:] == answers[:3]  # nothing changed: the same bytes from the cache
    finally:
        server.stop()
