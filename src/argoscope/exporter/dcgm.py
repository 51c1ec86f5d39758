"""dcgm-exporter: targets, bounded concurrent scraping, and parsing into per-GPU samples.

This module knows dcgm-exporter's exposition and nothing about pipelines; `gpu.py` joins the
samples to step pods. Parsing uses prometheus_client's parser and tolerates what real
exporters print across versions: label aliases (`Hostname`/`hostname`, `UUID`/`uuid`,
`pod`/`pod_name`, ...), families missing because their values were blank, DCGM's blank
sentinels (huge integers near 2**63), MIG instances (`GPU_I_ID`, `GPU_I_PROFILE`) and an empty
`pod_uid`.
"""

from __future__ import annotations

import http.client
import math
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from argoscope.exporter.deadlines import WATCHDOG

DEFAULT_PORT = 9400
DEFAULT_PATH = "/metrics"
# A full dcgm-exporter page for 8 GPUs with every counter is a few hundred KiB; 16 MiB leaves
# room for big nodes and still stops a runaway body from eating the exporter's memory.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024

# Utilization sources, in order of preference; each value says which one it came from.
SOURCE_PROF = "prof_gr_engine_active"  # DCGM_FI_PROF_GR_ENGINE_ACTIVE, already a 0..1 ratio
SOURCE_DEV = "dev_gpu_util"  # DCGM_FI_DEV_GPU_UTIL, a 0..100 percentage
PROF_UTIL = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"
DEV_UTIL = "DCGM_FI_DEV_GPU_UTIL"
FB_USED = "DCGM_FI_DEV_FB_USED"  # MiB
MIB = 1024 * 1024
# DCGM encodes "blank" (no value, not supported, ...) as integers just below 2**63 and as
# floats near 1.4e305; a value at or above these is no value at all.
_BLANK_INT_FLOOR = 9223372036854775792.0 - 1024
_BLANK_FLOAT_FLOOR = 1.0e300

# Label aliases: dcgm-exporter renamed labels across versions; the first present wins.
LABEL_ALIASES: Mapping[str, tuple[str, ...]] = {
    "gpu": ("gpu",),
    "uuid": ("UUID", "uuid"),
    "host": ("Hostname", "hostname"),
    "namespace": ("namespace", "pod_namespace"),
    "pod": ("pod", "pod_name"),
    "container": ("container", "container_name"),
    "gpu_instance": ("GPU_I_ID", "gpu_i_id"),
    "gpu_profile": ("GPU_I_PROFILE", "gpu_i_profile"),
    "model": ("modelName", "modelname"),
}

# Scrape failure reasons, the `reason` label of the error counter.
REASON_DOWN = "down"
REASON_TIMEOUT = "timeout"
REASON_TOO_LARGE = "too_large"
REASON_GARBAGE = "garbage"
REASON_REDIRECT = "redirect"


class ScrapeError(Exception):
    """A target could not be scraped; `reason` is one of the REASON_* constants."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class GpuSample:
    """One GPU (or MIG instance) as one dcgm-exporter reported it in one scrape."""

    host: str
    gpu: str  # the device index, with `/<GPU_I_ID>` appended for a MIG instance
    uuid: str
    namespace: str
    pod: str
    container: str
    profile: str  # MIG profile such as `1g.10gb`, "" for a whole GPU
    utilization: float | None  # 0..1
    source: str  # SOURCE_PROF or SOURCE_DEV, "" when no utilization was reported
    memory_bytes: float | None


def _label(labels: Mapping[str, str], name: str) -> str:
    for alias in LABEL_ALIASES[name]:
        value = labels.get(alias)
        if value:
            return value
    return ""


def _usable(value: float) -> bool:
    # prometheus_client's parser may hand back an int of any size ("1e400" stays a float,
    # a 400-digit integer does not): no real DCGM value is that large, so it is blank.
    try:
        value = float(value)
    except OverflowError:
        return False
    return math.isfinite(value) and value < _BLANK_INT_FLOOR and abs(value) < _BLANK_FLOAT_FLOOR


def parse_exposition(text: str, where: str = "dcgm-exporter") -> list[GpuSample]:
    """Per-GPU samples from one dcgm-exporter page.

    Raises ScrapeError(garbage) naming `where` when the text is not an exposition. A page
    without any DCGM utilization or memory family gives GPUs with `None` values, or none.
    """
    # GPU key -> (identity labels, {field: value})
    gpus: dict[tuple[str, str, str, str], tuple[dict[str, str], dict[str, float]]] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name not in (PROF_UTIL, DEV_UTIL, FB_USED):
                    continue
                labels = sample.labels
                identity = {name: _label(labels, name) for name in LABEL_ALIASES}
                gpu = identity["gpu"]
                if identity["gpu_instance"]:
                    gpu = f"{gpu}/{identity['gpu_instance']}"
                key = (identity["host"], identity["uuid"], gpu, identity["pod"])
                entry = gpus.setdefault(key, (identity, {}))
                if _usable(sample.value):
                    entry[1][sample.name] = sample.value
    except (ValueError, IndexError, KeyError, TypeError) as error:
        raise ScrapeError(REASON_GARBAGE, f"{where}: not Prometheus text: {error}") from error
    return [_sample(identity, values) for identity, values in gpus.values()]


def _sample(identity: Mapping[str, str], values: Mapping[str, float]) -> GpuSample:
    utilization: float | None = None
    source = ""
    # Never mix scales: the profiling ratio wins whole, else the percentage is divided by 100.
    if PROF_UTIL in values:
        utilization, source = values[PROF_UTIL], SOURCE_PROF
    elif DEV_UTIL in values:
        utilization, source = values[DEV_UTIL] / 100.0, SOURCE_DEV
    if utilization is not None:
        utilization = min(1.0, max(0.0, utilization))
    memory = values[FB_USED] * MIB if FB_USED in values else None
    gpu = identity["gpu"]
    if identity["gpu_instance"]:
        gpu = f"{gpu}/{identity['gpu_instance']}"
    return GpuSample(
        host=identity["host"], gpu=gpu, uuid=identity["uuid"], namespace=identity["namespace"],
        pod=identity["pod"], container=identity["container"], profile=identity["gpu_profile"],
        utilization=utilization, source=source, memory_bytes=memory)


def fetch(url: str, timeout: float, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> str:
    """GET `url` within `timeout` seconds in all; raise ScrapeError for down, slow or huge
    targets and for redirects.

    `timeout` is a deadline for the whole scrape (connect, headers and body together), not a
    per-read timeout: a target that trickles its headers or body, over HTTP/1.1, HTTP/1.0 or
    with `Connection: close`, chunked or not, is cut off at the deadline.
    Redirects are refused, not followed: a target has no business sending the exporter to
    another URL.
    """
    deadline = time.monotonic() + timeout
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ScrapeError(REASON_DOWN, f"{url}: not an http(s) URL")

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                        else http.client.HTTPConnection)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection = connection_class(parts.hostname, parts.port, timeout=remaining())
    except ValueError as error:  # a bad port
        raise ScrapeError(REASON_DOWN, f"{url}: {error}") from error
    chunks: list[bytes] = []
    size = 0
    armed = None
    try:
        connection.connect()
        # The watchdog holds the deadline on this very socket, whatever http.client does
        # with it: an HTTP/1.0 or `Connection: close` answer detaches it from the connection
        # (so a timeout set through `connection.sock` would miss it), and a header or chunk
        # line dripped one byte at a time is read in one call whose per-read timeout never
        # fires. Cut at the deadline, every read returns at once.
        if connection.sock is not None:
            armed = WATCHDOG.arm(connection.sock, deadline)
        connection.request("GET", path, headers={"Accept": "text/plain"})
        response = connection.getresponse()
        if 300 <= response.status < 400:
            raise ScrapeError(REASON_REDIRECT, f"{url}: HTTP {response.status} redirect to "
                                               f"{response.getheader('Location', '?')}, refused")
        if response.status != 200:
            raise ScrapeError(REASON_DOWN, f"{url}: HTTP {response.status}")
        while True:
            remaining()
            chunk = response.read1(min(65536, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            # Read one byte past the limit: a body that fills it is too large, whatever
            # Content-Length claimed (a chunked body declares none).
            if size > max_bytes:
                raise ScrapeError(REASON_TOO_LARGE, f"{url}: body larger than {max_bytes} bytes")
        if armed is not None and armed.expired:
            raise TimeoutError  # the end of the body was the cut, not the target's
    except TimeoutError as error:
        raise ScrapeError(REASON_TIMEOUT, f"{url}: no complete answer within {timeout:g}s"
                          ) from error
    except (OSError, http.client.HTTPException, ValueError) as error:
        if armed is not None and armed.expired:
            raise ScrapeError(REASON_TIMEOUT, f"{url}: no complete answer within {timeout:g}s"
                              ) from error
        raise ScrapeError(REASON_DOWN, f"{url}: {error}") from error
    finally:
        if armed is not None:
            WATCHDOG.disarm(armed)
        connection.close()
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as error:
        raise ScrapeError(REASON_GARBAGE, f"{url}: body is not UTF-8 text") from error


@dataclass(frozen=True, slots=True)
class ScrapeResult:
    """The outcome of scraping one target once."""

    target: str
    started: float
    duration: float
    samples: tuple[GpuSample, ...] = ()
    error: ScrapeError | None = None

    @property
    def ok(self) -> bool:
        """True when the target answered with a parsable page."""
        return self.error is None


def scrape(url: str, timeout: float, max_bytes: int = DEFAULT_MAX_BODY_BYTES,
           clock: Callable[[], float] = time.time) -> ScrapeResult:
    """Fetch and parse one target; never raises."""
    started = clock()
    begun = time.monotonic()
    try:
        samples = tuple(parse_exposition(fetch(url, timeout, max_bytes), url))
    except ScrapeError as error:
        return ScrapeResult(url, started, time.monotonic() - begun, error=error)
    return ScrapeResult(url, started, time.monotonic() - begun, samples)


def scrape_each(urls: Iterable[str], timeout: float,
                max_bytes: int = DEFAULT_MAX_BODY_BYTES,
                clock: Callable[[], float] = time.time,
                max_workers: int = 16) -> Iterator[ScrapeResult]:
    """Scrape every target concurrently, yielding each result as soon as it arrives.

    A slow target delays no other target's result; each is over by its deadline.
    """
    targets = list(dict.fromkeys(urls))
    if not targets:
        return
    workers = max(1, min(max_workers, len(targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dcgm-scrape") as pool:
        futures = [pool.submit(scrape, url, timeout, max_bytes, clock) for url in targets]
        for future in as_completed(futures):
            yield future.result()


def scrape_all(urls: Iterable[str], timeout: float,
               max_bytes: int = DEFAULT_MAX_BODY_BYTES,
               clock: Callable[[], float] = time.time, max_workers: int = 16) -> list[ScrapeResult]:
    """Every target's result, in the order of `urls` (see `scrape_each`)."""
    targets = list(dict.fromkeys(urls))
    results = {r.target: r for r in scrape_each(targets, timeout, max_bytes, clock, max_workers)}
    return [results[target] for target in targets]


@dataclass(frozen=True, slots=True)
class DiscoveredTarget:
    """A dcgm-exporter pod found through the Kubernetes API."""

    url: str
    namespace: str
    pod: str


def discover(core_api: Any, selector: str, port: int = DEFAULT_PORT,
             path: str = DEFAULT_PATH, namespace: str | None = None) -> list[DiscoveredTarget]:
    """Running dcgm-exporter pods selected by `selector`, as scrape targets.

    `core_api` is a `kubernetes.client.CoreV1Api`; pods without an IP yet are skipped. With
    `namespace`, only that namespace is listed (all a namespaced install may read).
    """
    if namespace:
        pods = core_api.list_namespaced_pod(namespace, label_selector=selector)
    else:
        pods = core_api.list_pod_for_all_namespaces(label_selector=selector)
    found: list[DiscoveredTarget] = []
    for item in pods.items or []:
        status = item.status
        if status is None or status.phase != "Running" or not status.pod_ip:
            continue
        host = f"[{status.pod_ip}]" if ":" in status.pod_ip else status.pod_ip
        found.append(DiscoveredTarget(f"http://{host}:{port}{path}",
                                      item.metadata.namespace or "", item.metadata.name or ""))
    return sorted(found, key=lambda target: target.url)
