"""Reading Kubernetes-shaped Workflow and Pod objects defensively.

Objects come from a watch, a `kubectl get -o yaml` dump or the local runner, from Argo v2 to
today: any field may be missing, timestamps may be strings or (from YAML) datetimes, and the
node map may be inline, compressed or offloaded.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import zlib
from collections.abc import Mapping
from typing import Any

import orjson

from argoscope import timefmt

WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
TEMPLATE_LABEL = "workflows.argoproj.io/workflow-template"
CRON_LABEL = "workflows.argoproj.io/cron-workflow"
# An explicit pipeline identity set by whoever writes the Workflow: it wins over every guess.
PIPELINE_LABEL = "argoscope.io/pipeline"
NODE_ID_ANNOTATION = "workflows.argoproj.io/node-id"
NODE_NAME_ANNOTATION = "workflows.argoproj.io/node-name"

MAX_LABEL_LENGTH = 128
# Argo offloads node status past etcd's ~1.5 MiB object limit, so inflated node maps stay well
# below this; anything larger is refused rather than inflated.
MAX_COMPRESSED_NODES_BYTES = 64 * 1024 * 1024

# Argo's workflow phases; any other value is shown as `Unknown`, so a typo or a future phase
# cannot grow the `phase` label without bound. (Step phases need no such guard: only the
# finished ones the model lists are ever counted.)
WORKFLOW_PHASES = frozenset({"Pending", "Running", "Succeeded", "Failed", "Error"})
UNKNOWN_PHASE = "Unknown"
# Characters no label value may carry: control characters (C0, DEL, C1: a NUL or an escape
# sequence would reach every tool that shows the label) and lone surrogates (not UTF-8).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class MalformedObject(ValueError):
    """An object that cannot be read as the kind it claims to be."""


_EMPTY: Mapping[str, Any] = {}

def decode_json(raw: bytes | str) -> Any:
    """Decode a JSON document (an API response, a watch event, a file); ValueError if bad."""
    # orjson decodes Kubernetes-sized objects about twice as fast as the standard library;
    # its JSONDecodeError is a ValueError.
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        # orjson also refuses valid JSON it cannot represent: a lone surrogate escape
        # (`"\\ud800"`) or an integer beyond 64 bits. The standard library reads those (labels
        # are made valid UTF-8 later, numbers converted with a guard); on what orjson refused
        # for depth, it stops with a RecursionError, reported as the ValueError it is.
        try:
            return json.loads(raw)
        except RecursionError:
            raise ValueError(f"{error} (nested too deep)") from None


def mapping(value: Any) -> Mapping[str, Any]:
    """`value` if it is a mapping, else an empty one (a missing or null field)."""
    # `type() is dict` first: decoded JSON is plain dicts, and the ABC check is slow.
    if type(value) is dict or isinstance(value, Mapping):
        return value
    return _EMPTY


def text(value: Any) -> str:
    """`value` as a string, or '' when it is missing or not a scalar."""
    if type(value) is str:
        return value
    if value is None or isinstance(value, (Mapping, list)):
        return ""
    return str(value)


def parse_time(value: Any) -> float | None:
    """RFC 3339 timestamp (string, or datetime as YAML loads it) to Unix seconds; None if unset.

    `argoscope.timefmt`'s reading, with a bad value raised as this object's MalformedObject.
    """
    try:
        return timefmt.parse_time(value)
    except ValueError as error:
        raise MalformedObject(str(error)) from error


def cap_label(value: str) -> str:
    """A user-supplied label value made safe to expose: printable, valid UTF-8, length-capped.

    Control characters (a NUL, a newline, an escape sequence) and lone surrogates (a JSON
    `\\ud800` escape decodes to one, and it cannot be encoded as UTF-8, which would fail the
    whole exposition) become U+FFFD. The number of values is capped elsewhere.
    """
    if not value.isprintable():  # fast path: printable text has neither
        value = _UNSAFE.sub("\ufffd", value)
    return value if len(value) <= MAX_LABEL_LENGTH else value[: MAX_LABEL_LENGTH - 1] + "…"


def phase_label(value: str, known: frozenset[str] = WORKFLOW_PHASES) -> str:
    """A phase as a label: one of `known`, else `Unknown`."""
    return value if value in known else UNKNOWN_PHASE


def pipeline_name(metadata: Mapping[str, Any], spec: Mapping[str, Any]) -> tuple[str, bool]:
    """The `pipeline` label by the rule of DESIGN.md, and whether it fell back to the run's
    own name (then the caller budgets it: fixed-name runs must not grow series unbounded)."""
    return pipeline_from(mapping(metadata.get("labels")), spec,
                         metadata.get("generateName"), text(metadata.get("name")))


def pipeline_from(labels: Mapping[str, Any], spec: Mapping[str, Any], generate_name: Any,
                  name: str) -> tuple[str, bool]:
    """`pipeline_name` from the parts of the metadata a caller has read already."""
    explicit = text(labels.get(PIPELINE_LABEL))
    if explicit:
        return explicit, False
    ref = text(mapping(spec.get("workflowTemplateRef")).get("name"))
    if ref:
        return ref, False
    for key in (TEMPLATE_LABEL, CRON_LABEL):
        value = text(labels.get(key))
        if value:
            return value, False
    generate_name = text(generate_name)
    if generate_name:
        return generate_name.rstrip("-") or generate_name, False
    return name, True


_UNREAD: Any = object()


def decode_nodes(status: Mapping[str, Any], nodes: Any = _UNREAD) -> Mapping[str, Any]:
    """The node map, from `status.nodes` or `status.compressedNodes` (base64 of gzip JSON);
    `nodes` is `status.nodes` when the caller has read it already."""
    if nodes is _UNREAD:
        nodes = status.get("nodes")
    if isinstance(nodes, Mapping):
        return nodes
    if nodes is not None:
        raise MalformedObject("status.nodes is not a map")
    compressed = status.get("compressedNodes")
    if not compressed:
        return {}
    try:
        raw = base64.b64decode(text(compressed), validate=False)
        # Bounded: a few KiB of gzip could otherwise inflate to gigabytes.
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        plain = inflater.decompress(raw, MAX_COMPRESSED_NODES_BYTES + 1)
        if len(plain) > MAX_COMPRESSED_NODES_BYTES or inflater.unconsumed_tail:
            raise MalformedObject(
                f"status.compressedNodes inflates past {MAX_COMPRESSED_NODES_BYTES} bytes")
        decoded = decode_json(plain)
    except (binascii.Error, OSError, EOFError, zlib.error) as error:
        raise MalformedObject(f"status.compressedNodes cannot be decoded: {error}") from error
    except MalformedObject:
        raise
    except ValueError as error:
        raise MalformedObject(f"status.compressedNodes cannot be decoded: {error}") from error
    if not isinstance(decoded, Mapping):
        raise MalformedObject("status.compressedNodes does not hold a node map")
    return decoded


def encode_nodes(nodes: Mapping[str, Any]) -> str:
    """The inverse of `decode_nodes` for `compressedNodes` (used by tests and the benchmark)."""
    return base64.b64encode(gzip.compress(json.dumps(nodes).encode())).decode()
