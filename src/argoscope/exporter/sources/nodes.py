"""Node objects for cost (`--prices` with node rules): listed, then watched, through the API.

Only the cost plug-in reads Nodes (their labels choose a price rule), so this source is small:
list all nodes, hand each to `Model.apply(NODES, ...)`, then watch from the list's
resourceVersion; any failure (410 Gone included) re-lists after a backoff. Nodes are few and
change rarely, so a re-list is cheap. It needs `get`, `list` and `watch` on `nodes` (the
ClusterRole in manifests/).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from argoscope.exporter.model import Model
from argoscope.exporter.objects import decode_json, mapping, text
from argoscope.exporter.store import NODES

log = logging.getLogger("argoscope.exporter")


class NodeSource:
    """Nodes through the Kubernetes API, for pricing by node labels."""

    def __init__(self, model: Model, kubeconfig: str | None = None, context: str | None = None,
                 *, watch_timeout_seconds: int = 300, backoff_seconds: float = 1.0,
                 backoff_max_seconds: float = 60.0, core_api: Any = None) -> None:
        self.name = "nodes"
        self.model = model
        self.watch_timeout_seconds = watch_timeout_seconds
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        if core_api is None:
            from argoscope.exporter import kubeclient

            core_api = kubeclient.core_api(kubeconfig, context)
        self._core = core_api
        model.stats.expect_source(self.name)

    def _list(self) -> str:
        response = self._core.list_node(_preload_content=False)
        body = mapping(decode_json(response.data))
        items = body.get("items")
        nodes = items if isinstance(items, list) else []
        self.model.resync(NODES, nodes, replay=False, origin=self.name)
        return text(mapping(body.get("metadata")).get("resourceVersion"))

    def snapshot(self) -> None:
        """List the nodes once (`--once`)."""
        self._list()
        self.model.stats.source_ready(self.name)

    def run(self, stop: threading.Event) -> None:
        """List, then watch, until `stop`; a failure re-lists after a growing backoff.

        `stop` is seen between events and whenever a watch ends (the server closes it after
        `watch_timeout_seconds`), so stopping takes at most that long.
        """
        failures = 0
        while not stop.is_set():
            try:
                version = self._list()
                self.model.stats.source_ready(self.name)
                self.model.stats.source_up(self.name, True)
                failures = 0
                while not stop.is_set() and version:
                    version = self._watch(version, stop)
            except Exception as error:  # the API is away: list again after a backoff
                failures += 1
                self.model.stats.source_up(self.name, False)
                delay = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (failures - 1))
                self.model.stats.log_once(("nodes", type(error).__name__),
                                          "node watch failed (%s); listing again in %.0fs",
                                          error, delay)
                stop.wait(delay)

    def _watch(self, version: str, stop: threading.Event) -> str:
        """Follow one watch from `version`; the version to resume from, "" to list again."""
        from kubernetes import watch

        stream = watch.Watch()  # type: ignore[no-untyped-call]
        for event in stream.stream(  # type: ignore[no-untyped-call]
                self._core.list_node, resource_version=version,
                timeout_seconds=self.watch_timeout_seconds, allow_watch_bookmarks=True):
            if stop.is_set():
                stream.stop()  # type: ignore[no-untyped-call]
                return version
            kind = text(event.get("type"))
            raw = mapping(event.get("raw_object"))
            if kind == "ERROR":
                return ""  # 410 Gone and the like: list again
            version = text(mapping(raw.get("metadata")).get("resourceVersion")) or version
            if kind in ("ADDED", "MODIFIED", "DELETED"):
                self.model.apply(NODES, kind, raw, origin=self.name)
        return version
