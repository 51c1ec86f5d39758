"""`argoscope exporter`: its flags (the handler lives in `app`)."""

from __future__ import annotations

import argparse
import re
from typing import Any

# series.DEFAULT_MAX_SERIES_PER_NAMESPACE and DEFAULT_MAX_NAMESPACES, written out: parsing the
# command line must not import prometheus_client (a missing extra is reported after parsing).
# tests/exporter/test_cli.py holds them equal.
DEFAULT_MAX_SERIES_PER_NAMESPACE = 500
DEFAULT_MAX_NAMESPACES = 20

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)?$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def duration(value: str) -> float:
    """Parse `90`, `90s`, `15m`, `1h` or `2d` into seconds."""
    match = _DURATION.match(value.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {value!r} (use 90s, 15m, 1h, 2d)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def listen_address(value: str) -> str:
    """Check `HOST:PORT` (host may be empty for all addresses)."""
    _host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"not HOST:PORT: {value!r}")
    return value


def _handler(args: argparse.Namespace) -> int:
    from argoscope.exporter.app import main

    return main(args)


def add_exporter_arguments(parser: argparse.ArgumentParser) -> None:
    """The exporter's flags, shared with commands that embed an exporter (demo)."""
    parser.add_argument(
        "--source", action="append", required=True, metavar="SOURCE",
        help="kubernetes | file:PATH (file or directory of JSON/YAML) | local:DIR "
             "(the local runner's state directory); repeatable")
    parser.add_argument("--listen", default="0.0.0.0:9842", type=listen_address,
                        help="HOST:PORT to serve /metrics, /healthz, /readyz (default %(default)s)")
    parser.add_argument("--http-request-timeout", type=duration, default=30.0, metavar="DUR",
                        help="whole-request deadline of every HTTP connection, from accept to "
                             "the last byte of the answer; a client that trickles its request "
                             "or reads slowly is cut there (default 30s)")
    parser.add_argument("--namespace", action="append", metavar="NS",
                        help="watch only this namespace (repeatable; default: all namespaces)")
    parser.add_argument("--kubeconfig", help="kubeconfig path (default: in-cluster, then ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context")
    parser.add_argument("--once", action="store_true",
                        help="load the sources once, print the exposition text and exit 0")
    parser.add_argument("--recent-runs-retention", type=duration, default=3600.0, metavar="DUR",
                        help="keep finished runs on the recent-runs families this long (default 1h)")
    parser.add_argument("--recent-runs-max", type=int, default=500, metavar="N",
                        help="at most this many runs on the recent-runs families (default %(default)s)")
    parser.add_argument("--max-series-per-family", type=int, default=10_000, metavar="N",
                        help="cap on label sets per family; the excess is counted as dropped "
                             "(default %(default)s)")
    parser.add_argument("--max-series-per-namespace", type=int,
                        default=DEFAULT_MAX_SERIES_PER_NAMESPACE, metavar="N",
                        help="cap on label sets per family per namespace, so one namespace "
                             "cannot crowd out another's series; the excess is counted per "
                             "namespace (default %(default)s)")
    parser.add_argument("--max-namespaces", type=int, default=DEFAULT_MAX_NAMESPACES,
                        metavar="N",
                        help="at most this many namespaces hold series at once; later ones are "
                             "counted as namespace=\"_other\" (default %(default)s)")
    parser.add_argument("--series-retention", type=duration, default=14 * 86400.0,
                        metavar="DUR",
                        help="release the series (counters and histograms too) of a pipeline "
                             "not seen for this long (default 14d)")
    parser.add_argument("--max-check-series-per-namespace", type=int,
                        default=DEFAULT_MAX_SERIES_PER_NAMESPACE,
                        metavar="N",
                        help="cap on check series, and on feature-drift series, per namespace, "
                             "so one namespace cannot crowd out another's gates; the excess is "
                             "counted (default %(default)s)")
    parser.add_argument("--check-retention", type=duration, default=3 * 86400.0, metavar="DUR",
                        help="release a check or feature series not refreshed for this long "
                             "(default 3d)")
    parser.add_argument("--max-pipelines-per-namespace", type=int, default=100, metavar="N",
                        help="cap on pipelines per namespace named after the run itself (no "
                             "argoscope.io/pipeline label, template or generateName); later "
                             "ones show as pipeline=\"_other\" (default %(default)s)")
    parser.add_argument("--pod-wait", type=duration, default=10.0, metavar="DUR",
                        help="how long a finished step attempt waits for its pod's final state "
                             "before it is counted with what is known, so its failure reason "
                             "and pending time do not depend on which event came first "
                             "(default 10s)")
    parser.add_argument("--dcgm-url", action="append", default=[], metavar="URL",
                        help="a dcgm-exporter /metrics URL to scrape for GPU attribution "
                             "(repeatable; with --once, scraped once before printing)")
    parser.add_argument("--dcgm-selector", metavar="LABELSELECTOR",
                        help="discover dcgm-exporter pods by label selector through the "
                             "Kubernetes API, scraped at pod IP :9400/metrics (default: off)")
    parser.add_argument("--dcgm-namespace", metavar="NS",
                        help="discover dcgm-exporter pods only in this namespace (what the "
                             "namespaced install allows; default: all namespaces)")
    parser.add_argument("--dcgm-interval", type=duration, default=15.0, metavar="DUR",
                        help="how often to scrape dcgm-exporters (default 15s)")
    parser.add_argument("--dcgm-timeout", type=duration, default=5.0, metavar="DUR",
                        help="deadline of one dcgm-exporter scrape, connect and read "
                             "together (default 5s)")
    parser.add_argument("--prices", metavar="PATH|opencost:URL",
                        help="price step attempts and runs: a price file (YAML: currency, "
                             "default, node rules) or OpenCost's /metrics as opencost:URL "
                             "(default: no cost families)")
    parser.add_argument("--prices-interval", type=duration, default=300.0, metavar="DUR",
                        help="how often to read OpenCost's node prices (default 5m)")
    parser.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error"],
                        help="least severe log messages written to stderr (default: info)")


def register(subparsers: Any) -> None:
    """Add `argoscope exporter`."""
    parser = subparsers.add_parser(
        "exporter", help="serve Prometheus metrics for Argo Workflows pipelines",
        description="Watch Argo Workflows and their pods and serve per-pipeline, per-step "
                    "Prometheus metrics.")
    add_exporter_arguments(parser)
    parser.set_defaults(handler=_handler)
