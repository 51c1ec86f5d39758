"""The exposition cache: each series' rendered bytes kept between scrapes.

A scrape renders only the series whose value changed since the last one (kube-state-metrics
keeps rendered lines per object for the same reason); every other series is served from the
bytes rendered before. Misses are rendered by prometheus_client's own encoder for the
negotiated format, on a family holding just the missed series, so a cached exposition is
byte-for-byte the exposition a fresh rendering would give (docs/design.md, "Invariants:
cached exposition"; tests/exporter/test_exposition.py holds it).

One `FormatCache` per negotiated format (content type); one `_FamilyLines` per family in it.
A family that is the very object served last time (a collector that found nothing changed)
is answered with its previous bytes without looking at its rows. Lines of series that are no
longer served are dropped when they outnumber the served ones, so the cache holds at most
about twice the current exposition.
"""

from __future__ import annotations

import logging
import math
import re
import struct
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from argoscope.exporter.render import Row, TypedCounter, TypedGauge, TypedHistogram, cumulative

log = logging.getLogger("argoscope.exporter")

Encoder = Callable[[Collector], bytes]
_SURROGATES = re.compile("[\ud800-\udfff]")
_EOF = b"# EOF\n"
# Families whose lines are dropped when more than this many lines past twice those served.
_SLACK = 64


class OneFamily(Collector):
    """One family as a collector, so prometheus_client's encoder writes just that family."""

    def __init__(self, metric: Metric) -> None:
        self._metric = metric

    def collect(self) -> Iterable[Metric]:
        return [self._metric]


def sanitised(labels: Iterable[str]) -> tuple[str, ...]:
    """Label values made valid UTF-8 (lone surrogates replaced by U+FFFD)."""
    return tuple(_SURROGATES.sub("\ufffd", str(value)) for value in labels)


def _same(cached: float, value: float) -> bool:
    """Whether two values render the same: equal, and the same sign when zero (NaN never is,
    so it is always re-rendered)."""
    if cached != value:
        return False
    return bool(value) or math.copysign(1.0, cached) == math.copysign(1.0, value)


def _same_row(cached: Row, row: Row) -> bool:
    if len(row) == 2:
        return _same(cached[1], row[1])
    return bool(cached[1] == row[1]) and _same(cached[2], row[2])


@dataclass(slots=True)
class _FamilyLines:
    """The rendered lines of one family in one format."""

    header: bytes
    lines: dict[tuple[str, ...], tuple[Row, bytes, bool]] = field(default_factory=dict)
    last_metric: Metric | None = None
    last_pieces: list[bytes] | None = None
    last_body: bytes = b""
    last_replaced: bool = False


class FormatCache:
    """Rendered families of one format; `render` gives a family's bytes (without `# EOF`).

    `on_replaced` hears of each family served with a label value that could not be encoded
    (served with it replaced, as the encoder's fallback does), once per family per scrape.
    """

    def __init__(self, encoder: Encoder, on_replaced: Callable[[], None]) -> None:
        self._encoder = encoder
        self._on_replaced = on_replaced
        self._families: dict[tuple[str, str, str, tuple[str, ...]], _FamilyLines] = {}
        self.rendered_series = 0  # series rendered on a miss, since the start (tests, bench)

    def cacheable(self, metric: Metric) -> bool:
        """Whether `metric` carries typed rows this cache can render from."""
        return (isinstance(metric, TypedGauge | TypedCounter | TypedHistogram)
                and not metric.__dict__.get("rows_stale") and not metric.unit)

    def render(self, metric: Metric) -> bytes:
        """The family's exposition bytes, re-rendering only the series that changed."""
        key = (metric.name, metric.type, metric.documentation,
               tuple(getattr(metric, "_labelnames", ())))
        cache = self._families.get(key)
        if cache is None:
            cache = self._families[key] = _FamilyLines(self._header(metric))
        if metric is cache.last_metric:
            if cache.last_replaced:
                self._on_replaced()
            return cache.last_body
        rows: list[Row] = metric.rows  # type: ignore[attr-defined]
        lines = cache.lines
        pieces: list[bytes] = []
        missed: list[tuple[int, Row]] = []
        replaced = False
        for row in rows:
            hit = lines.get(row[0])
            if hit is not None and _same_row(hit[0], row):
                pieces.append(hit[1])
                replaced = replaced or hit[2]
            else:
                missed.append((len(pieces), row))
                pieces.append(b"")
        if missed:
            replaced = self._render_missed(metric, cache, missed, pieces) or replaced
        if len(lines) > 2 * len(rows) + _SLACK:
            served = {row[0] for row in rows}
            cache.lines = {labels: line for labels, line in lines.items() if labels in served}
        if pieces != cache.last_pieces:
            cache.last_body = cache.header + b"".join(pieces)
            cache.last_pieces = pieces
        cache.last_metric = metric
        cache.last_replaced = replaced
        if replaced:
            self._on_replaced()
        return cache.last_body

    def lines_kept(self) -> int:
        """Series lines held, over every family."""
        return sum(len(cache.lines) for cache in self._families.values())

    def size(self) -> int:
        """Bytes held: every kept line and family body (what the cache adds to memory)."""
        total = 0
        for cache in self._families.values():
            total += len(cache.header) + len(cache.last_body)
            total += sum(len(line) for _, line, _ in cache.lines.values())
        return total

    # --- misses ---------------------------------------------------------------------------

    def _header(self, metric: Metric) -> bytes:
        empty = _blank(metric)
        return _strip_eof(self._encoder(OneFamily(empty)))

    def _render_missed(self, metric: Metric, cache: _FamilyLines, missed: list[tuple[int, Row]],
                       pieces: list[bytes]) -> bool:
        """Render the missed rows in one family through the encoder; a batch that cannot be
        encoded is rendered row by row, each bad row with its labels made valid UTF-8."""
        self.rendered_series += len(missed)
        try:
            texts = self._encode_rows(metric, cache.header, [row for _, row in missed])
            flags = [False] * len(missed)
        except UnicodeError:
            texts, flags = [], []
            for _, row in missed:
                try:
                    texts.extend(self._encode_rows(metric, cache.header, [row]))
                    flags.append(False)
                except UnicodeError:
                    clean = (sanitised(row[0]), *row[1:])
                    texts.extend(self._encode_rows(metric, cache.header, [clean]))
                    flags.append(True)
        for (index, row), text, flag in zip(missed, texts, flags, strict=True):
            pieces[index] = text
            cache.lines[row[0]] = (row, text, flag)
        if any(flags):
            # Labels are made valid UTF-8 where they enter; one slipped through. Logged when
            # rendered; counted at every scrape that serves it (`on_replaced`).
            log.warning("a label value of %s could not be encoded; serving it replaced",
                        metric.name)
        return any(flags)

    def _encode_rows(self, metric: Metric, header: bytes, rows: list[Row]) -> list[bytes]:
        """Each row's lines, as the encoder writes them for a family holding these rows."""
        family = _blank(metric)
        per_row: list[int] = []
        for row in rows:
            before = len(family.samples)
            if isinstance(family, HistogramMetricFamily):
                family.add_metric(row[0], cumulative(metric.bucket_names, row[1]),  # type: ignore[attr-defined]
                                  row[2])
            else:
                family.add_metric(row[0], row[1])  # type: ignore[attr-defined]
            per_row.append(len(family.samples) - before)
        body = _strip_eof(self._encoder(OneFamily(family)))
        if not body.startswith(header):
            raise RuntimeError(f"{metric.name}: the encoder changed the family's header")
        lines = body[len(header):].split(b"\n")[:-1]
        if len(lines) != sum(per_row):
            # Not one line per sample (a format that moves samples): nothing can be cached
            # line by line, so this is a bug to hear about, never a wrong exposition.
            raise RuntimeError(f"{metric.name}: {len(lines)} lines for {sum(per_row)} samples")
        texts: list[bytes] = []
        start = 0
        for count in per_row:
            texts.append(b"".join(line + b"\n" for line in lines[start:start + count]))
            start += count
        return texts


def _blank(metric: Metric) -> Metric:
    """An empty family with `metric`'s name, help, type and label names."""
    labels = list(getattr(metric, "_labelnames", ()))
    blank: Metric
    if metric.type == "counter":
        blank = CounterMetricFamily(metric.name, metric.documentation, labels=labels)
    elif metric.type == "histogram":
        blank = HistogramMetricFamily(metric.name, metric.documentation, labels=labels)
    else:
        blank = GaugeMetricFamily(metric.name, metric.documentation, labels=labels)
    return blank


def _strip_eof(text: bytes) -> bytes:
    return text[:-len(_EOF)] if text.endswith(_EOF) else text


class ExpositionCache:
    """A `FormatCache` per negotiated format, the most recently used few kept (the content
    type comes from the scraper's Accept header, so its variety is bounded here)."""

    def __init__(self, on_replaced: Callable[[], None], max_formats: int = 4) -> None:
        self._on_replaced = on_replaced
        self._max_formats = max_formats
        self._formats: dict[str, FormatCache] = {}

    def format(self, content_type: str, encoder: Encoder) -> FormatCache:
        """The cache of `content_type`, made on first use (the oldest format dropped)."""
        cache = self._formats.pop(content_type, None)
        if cache is None:
            cache = FormatCache(encoder, self._on_replaced)
            while len(self._formats) >= self._max_formats:
                del self._formats[next(iter(self._formats))]
        self._formats[content_type] = cache
        return cache

    def size(self) -> int:
        """Bytes held by every format's cache."""
        return sum(cache.size() for cache in self._formats.values())


class GzipSegments:
    """A gzip stream of a body in pieces, each piece compressed once and kept while it is
    served: a body that changed in one family costs one family's compression.

    Each piece is compressed on its own (raw deflate ending in a sync flush, so it stands at a
    byte boundary and refers to nothing before it); the stream is the gzip header, the pieces'
    segments in order, an empty final block and the trailer (CRC-32 and length of the whole).
    """

    _HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no mtime
    _FINAL = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS).flush(zlib.Z_FINISH)

    def __init__(self, level: int = 6) -> None:
        self._level = level
        self._segments: dict[bytes, bytes] = {}
        self._lock = threading.Lock()  # bodies of one format may be compressed at once
        self.compressed = 0  # pieces compressed since the start (tests, bench)

    def gzip(self, pieces: list[bytes]) -> list[bytes]:
        """The gzip stream of the pieces joined, from kept segments where they are the same."""
        with self._lock:
            return self._gzip(pieces)

    def _gzip(self, pieces: list[bytes]) -> list[bytes]:
        kept = self._segments
        segments: dict[bytes, bytes] = {}
        out = [self._HEADER]
        crc = 0
        for piece in pieces:
            if not piece:
                continue
            segment = kept.get(piece)
            if segment is None:
                segment = segments.get(piece)
            if segment is None:
                compressor = zlib.compressobj(self._level, zlib.DEFLATED, -zlib.MAX_WBITS)
                segment = compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH)
                self.compressed += 1
            segments[piece] = segment
            out.append(segment)
            crc = zlib.crc32(piece, crc)
        length = sum(len(piece) for piece in pieces)
        out.append(self._FINAL + struct.pack("<II", crc, length & 0xFFFFFFFF))
        self._segments = segments  # only what this body holds: bounded by it
        return out
