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
from datetime import UTC, datetime
from typing import Any

import orjson

WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
TEMPLATE_LABEL = "workflows.argoproj.io/workflow-template"
CRON_LABEL = "workflows.argoproj.io/cron-workflow"
NODE_ID_ANNOTATION = "workflows.argoproj.io/node-id"
NODE_NAME_ANNOTATION = "workflows.argoproj.io/node-name"

# `step1(0)` (retry attempt) and `task(2:value)` (withItems/withParam fan-out): the suffix
# carries an index or an item, so it is stripped to keep the step label bounded.
_ATTEMPT_SUFFIX = re.compile(r"\(\d+(?::.*)?\)$")

MAX_LABEL_LENGTH = 128


class MalformedObject(ValueError):
    """An object that cannot be read as the kind it claims to be."""


_EMPTY: Mapping[str, Any] = {}

def decode_json(raw: bytes | str) -> Any:
    """Decode a JSON document (an API response, a watch event, a file); ValueError if bad."""
    # orjson decodes Kubernetes-sized objects about twice as fast as the standard library;
    # its JSONDecodeError is a ValueError.
    return orjson.loads(raw)


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
    """RFC 3339 timestamp (string, or datetime as YAML loads it) to Unix seconds; None if unset."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as error:
            raise MalformedObject(f"bad timestamp {value!r}") from error
    else:
        raise MalformedObject(f"bad timestamp {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Go's zero time, which Argo v2 sometimes wrote for unset times.
    if moment.year <= 1:
        return None
    return moment.timestamp()


def cap_label(value: str) -> str:
    """Cap a user-supplied label value's length (the number of values is capped elsewhere)."""
    return value if len(value) <= MAX_LABEL_LENGTH else value[: MAX_LABEL_LENGTH - 1] + "…"


def step_name(display_name: str) -> str:
    """The step label: a node's display name without retry or fan-out suffixes."""
    return _ATTEMPT_SUFFIX.sub("", display_name)


def pipeline_name(metadata: Mapping[str, Any], spec: Mapping[str, Any]) -> str:
    """The `pipeline` label, by the rule of DESIGN.md."""
    ref = text(mapping(spec.get("workflowTemplateRef")).get("name"))
    if ref:
        return ref
    labels = mapping(metadata.get("labels"))
    for key in (TEMPLATE_LABEL, CRON_LABEL):
        value = text(labels.get(key))
        if value:
            return value
    generate_name = text(metadata.get("generateName"))
    if generate_name:
        return generate_name.rstrip("-") or generate_name
    return text(metadata.get("name"))


def decode_nodes(status: Mapping[str, Any]) -> Mapping[str, Any]:
    """The node map, from `status.nodes` or `status.compressedNodes` (base64 of gzip JSON)."""
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
        decoded = json.loads(gzip.decompress(raw))
    except (binascii.Error, OSError, EOFError, zlib.error, ValueError) as error:
        raise MalformedObject(f"status.compressedNodes cannot be decoded: {error}") from error
    if not isinstance(decoded, Mapping):
        raise MalformedObject("status.compressedNodes does not hold a node map")
    return decoded


def encode_nodes(nodes: Mapping[str, Any]) -> str:
    """The inverse of `decode_nodes` for `compressedNodes` (used by tests and the benchmark)."""
    return base64.b64encode(gzip.compress(json.dumps(nodes).encode())).decode()
