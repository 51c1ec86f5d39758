"""The process harness: one way to start the stack on loopback, for the demo and the tests.

`argoscope demo` and the test suite (through `tests/support/`) start the exporter,
Prometheus and Alertmanager with these functions: each on a free loopback port, waited on
by polling its readiness endpoint (never a fixed sleep), and stopped cleanly (terminate,
then kill after a grace period). A started `Service` is a context manager that stops it.

- `net`: free ports, loopback-only HTTP GETs, `wait_until`.
- `process`: `Service`, `start`, `find_binary`.
- `prometheus`, `alertmanager`, `exporter`: each server's command line and its API.
"""

from __future__ import annotations

from argoscope.harness.alertmanager import (
    ALERTMANAGER_BINARIES,
    alertmanager_alerts,
    alertmanager_ui,
    start_alertmanager,
)
from argoscope.harness.exporter import start_exporter
from argoscope.harness.net import LOOPBACK, first_page, free_port, http_get, http_ok, wait_until
from argoscope.harness.process import Service, ServiceError, find_binary, start
from argoscope.harness.prometheus import (
    PROMETHEUS_ALERTS_PAGES,
    PROMETHEUS_GRAPH_PAGES,
    prometheus_alerts,
    prometheus_config,
    prometheus_query,
    start_prometheus,
)

__all__ = [
    "ALERTMANAGER_BINARIES",
    "LOOPBACK",
    "PROMETHEUS_ALERTS_PAGES",
    "PROMETHEUS_GRAPH_PAGES",
    "Service",
    "ServiceError",
    "alertmanager_alerts",
    "alertmanager_ui",
    "find_binary",
    "first_page",
    "free_port",
    "http_get",
    "http_ok",
    "prometheus_alerts",
    "prometheus_config",
    "prometheus_query",
    "start",
    "start_alertmanager",
    "start_exporter",
    "start_prometheus",
    "wait_until",
]
