"""The process harness (`argoscope.harness`) the demo and the tests start the stack with:
readiness by polling, early exits reported with the process's own words, services stopped
on exit, nothing but loopback asked, and Prometheus started with the options it was given."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from argoscope import harness
from tests.support.servers import REPO, require_binary


def test_a_process_that_exits_before_it_is_ready_fails_with_its_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "print('cannot bind: boom', flush=True); raise SystemExit(3)"]
    url = f"http://127.0.0.1:{harness.free_port()}"
    with pytest.raises(harness.ServiceError, match=r"(?s)early exited with code 3.*cannot bind"):
        harness.start("early", argv, url, "/", tmp_path, timeout=30)
    assert (tmp_path / "early.log").read_text().strip() == "cannot bind: boom"


def test_a_service_is_ready_once_its_path_answers_and_stops_on_exit(tmp_path: Path) -> None:
    (tmp_path / "ready.txt").write_text("yes")
    port = harness.free_port()
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    url = f"http://127.0.0.1:{port}"
    with harness.start("files", argv, url, "/ready.txt", tmp_path, timeout=30) as service:
        assert harness.http_get(service.url + "/ready.txt") == "yes"
        assert service.process.poll() is None
    assert service.process.poll() is not None
    assert not harness.http_ok(url + "/ready.txt")


def test_wait_until_names_what_it_waited_for() -> None:
    with pytest.raises(TimeoutError, match=r"after 0\.2s waiting for the thing"):
        harness.wait_until(lambda: False, timeout=0.2, what="the thing")


def test_wait_until_asks_once_more_after_the_deadline() -> None:
    # Polled every 0.3s with a 0.2s timeout: only the poll after the deadline sees it true.
    start = time.monotonic()
    harness.wait_until(lambda: time.monotonic() - start >= 0.25, timeout=0.2, interval=0.3)


@pytest.mark.parametrize("url", ["http://example.com/", "http://10.0.0.1:9090/-/ready",
                                 "https://127.0.0.1/", "file:///etc/passwd"])
def test_only_loopback_is_ever_asked(url: str) -> None:
    with pytest.raises(ValueError, match="not a loopback"):
        harness.http_get(url)
    with pytest.raises(ValueError, match="not a loopback"):
        harness.http_ok(url)
    assert harness.first_page(url, ("",)) is None


def test_prometheus_starts_with_the_options_it_was_given(tmp_path: Path) -> None:
    binary = require_binary("prometheus")
    rules = sorted((REPO / "alerts" / "rules").glob("*.yaml"))
    config = {"global": {"scrape_interval": "1s", "external_labels": {"region": "eu"}}}
    with harness.start_prometheus(binary, config, tmp_path / "prom", rule_files=rules,
                                  external_labels={"cluster": "east"},
                                  remote_write_receiver=True, lifecycle=True) as prometheus:
        flags = json.loads(harness.http_get(prometheus.url + "/api/v1/status/flags"))["data"]
        assert flags["web.enable-remote-write-receiver"] == "true"
        assert flags["web.enable-lifecycle"] == "true"
        assert flags["storage.tsdb.path"] == str(tmp_path / "prom" / "data")
        loaded = json.loads(harness.http_get(prometheus.url + "/api/v1/status/config"))
        assert "cluster: east" in loaded["data"]["yaml"] and "region: eu" in loaded["data"]["yaml"]
        groups = json.loads(harness.http_get(prometheus.url + "/api/v1/rules"))["data"]["groups"]
        assert {group["file"] for group in groups} == {str(path.resolve()) for path in rules}
        assert harness.prometheus_query(prometheus.url, "vector(1)")[0]["value"][1] == "1"
