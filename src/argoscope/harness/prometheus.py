"""Prometheus: its configuration for scraping the exporter, its command line with the modes
the demo and the tests need (server, agent, remote-write receiver), and its HTTP API."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from argoscope.harness.net import LOOPBACK, free_port, http_get
from argoscope.harness.process import Service, ServiceError, start

# Prometheus' own UI moved: official 2.x builds serve `/alerts`; Debian's 2.42 package serves
# only the classic UI under `/classic/`. The first page that answers is the one to show.
PROMETHEUS_ALERTS_PAGES = ("/alerts", "/classic/alerts")
PROMETHEUS_GRAPH_PAGES = ("/graph", "/classic/graph")


def _netloc(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc


def prometheus_config(exporter_url: str, rule_files: Sequence[Path],
                      alertmanager_url: str | None, interval: str = "1s") -> dict[str, Any]:
    """A Prometheus configuration scraping the exporter and evaluating the rules every
    `interval` (short, so a demo's alerts show within seconds)."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [{"job_name": "argoscope", "static_configs": [
            {"targets": [_netloc(exporter_url)]}]}],
        "rule_files": [str(path) for path in rule_files],
    }
    if alertmanager_url:
        config["alerting"] = {"alertmanagers": [{"static_configs": [
            {"targets": [_netloc(alertmanager_url)]}]}]}
    return config


def start_prometheus(binary: str, config: Mapping[str, Any], workdir: Path, *,
                     rule_files: Sequence[Path] = (),
                     external_labels: Mapping[str, str] | None = None,
                     storage: Path | None = None, agent: bool = False,
                     remote_write_receiver: bool = False, lifecycle: bool = False,
                     extra_args: Sequence[str] = ()) -> Service:
    """Prometheus with `config`, written to `workdir/prometheus.yml`, on a free loopback port.

    `rule_files`, when given, replace the configuration's own list (paths made absolute:
    Prometheus reads relative ones from beside its configuration file); `external_labels`
    are added to its global section. Storage is `workdir/data` unless `storage` names a TSDB
    to start from (say one backfilled with `promtool tsdb create-blocks-from`). `agent`
    starts it in agent mode: it scrapes and remote-writes, and keeps no TSDB, no rules and no
    query API. `remote_write_receiver` lets other Prometheus remote-write to it, and
    `lifecycle` enables `/-/reload` and `/-/quit`.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    written = dict(config)
    if rule_files:
        written["rule_files"] = [str(Path(path).resolve()) for path in rule_files]
    if external_labels:
        written["global"] = {**written.get("global", {}),
                             "external_labels": {**written.get("global", {}).get(
                                 "external_labels", {}), **external_labels}}
    config_path = workdir / "prometheus.yml"
    config_path.write_text(json.dumps(written, indent=2), encoding="utf-8")  # JSON is YAML
    port = free_port()
    storage_args = (["--enable-feature=agent", f"--storage.agent.path={workdir / 'wal'}"]
                    if agent else [f"--storage.tsdb.path={storage or workdir / 'data'}"])
    argv = [binary, f"--config.file={config_path}", *storage_args,
            f"--web.listen-address={LOOPBACK}:{port}",
            *(["--web.enable-remote-write-receiver"] if remote_write_receiver else []),
            *(["--web.enable-lifecycle"] if lifecycle else []), *extra_args]
    return start("prometheus", argv, f"http://{LOOPBACK}:{port}", "/-/ready", workdir)


def prometheus_query(url: str, promql: str) -> list[dict[str, Any]]:
    """An instant query's result vector. OSError when the request fails (Prometheus answers
    a query it cannot parse with 400), ServiceError when it answers without success."""
    body = json.loads(http_get(f"{url}/api/v1/query?" + urllib.parse.urlencode(
        {"query": promql})))
    if body.get("status") != "success":
        raise ServiceError(f"query {promql!r} failed: {body}")
    return list(body["data"]["result"])


def prometheus_alerts(url: str) -> list[dict[str, Any]]:
    """Prometheus' active alerts (pending and firing)."""
    body = json.loads(http_get(f"{url}/api/v1/alerts"))
    return list(body.get("data", {}).get("alerts", []))
