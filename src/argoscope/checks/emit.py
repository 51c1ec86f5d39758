"""Emission from a step: the document, one file per gate value, and JSON log lines.

Every writer here swallows its own failures (logged as warnings): emission never fails a step.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from argoscope.atomic import write_text
from argoscope.checks.identity import RunIdentity
from argoscope.checks.results import CheckResult, document

log = logging.getLogger("argoscope.checks")

DEFAULT_PATH = "/tmp/argoscope/checks.json"
# Outside a pod (a laptop, a notebook, CI) results go under the working directory instead.
LOCAL_DEFAULT_PATH = "argoscope-results/checks.json"
PATH_ENV = "ARGOSCOPE_CHECKS_PATH"
OUTPUTS_ENV = "ARGOSCOPE_OUTPUTS_DIR"
# The document is a summary the exporter reads from the Workflow status: features are capped.
MAX_FEATURES = 100
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def document_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the document goes: `$ARGOSCOPE_CHECKS_PATH`; else, in a pod (Kubernetes sets
    `KUBERNETES_SERVICE_HOST`), /tmp/argoscope/checks.json, what the templates declare; under
    `argoscope run`, where the runner maps that path; elsewhere
    `argoscope-results/checks.json` under the working directory."""
    env = os.environ if env is None else env
    if env.get(PATH_ENV):
        return Path(env[PATH_ENV])
    if env.get("KUBERNETES_SERVICE_HOST"):
        return Path(DEFAULT_PATH)
    from argoscope.stepenv import local_path

    mapped = local_path(DEFAULT_PATH, env)
    return Path(mapped) if mapped != DEFAULT_PATH else Path(LOCAL_DEFAULT_PATH)


def outputs_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where gate files go: `$ARGOSCOPE_OUTPUTS_DIR`, else beside the document."""
    env = os.environ if env is None else env
    given = env.get(OUTPUTS_ENV)
    return Path(given) if given else document_path(env).parent


def gate_file_name(check: str) -> str:
    """A file name for a gate (`valueFrom.path` in the template): unsafe characters become _."""
    return _SAFE_NAME.sub("_", check).strip("._") or "gate"


def _write(path: Path, text: str) -> None:
    write_text(path, text)  # readers never see half a document; no `.partial` left behind


def document_text(results: Sequence[CheckResult]) -> str:
    """The document as compact JSON, with features capped at MAX_FEATURES per result."""
    body = document(list(results))
    for entry in body["results"]:
        features = entry.get("features")
        if features and len(features) > MAX_FEATURES:
            entry["features"] = features[:MAX_FEATURES]
            entry["features_dropped"] = len(features) - MAX_FEATURES
    return json.dumps(body, separators=(",", ":"), allow_nan=False)


def write_document(results: Sequence[CheckResult], path: Path) -> bool:
    """Write the document to `path`; False (logged) when it cannot be written."""
    try:
        _write(path, document_text(results))
    except (OSError, ValueError) as exc:
        log.warning("could not write the checks document to %s: %s", path, exc)
        return False
    return True


def write_gates(results: Sequence[CheckResult], directory: Path) -> list[Path]:
    """One file per gate holding its value (`repr` of the float), for DAG `when:` clauses."""
    written: list[Path] = []
    for result in results:
        if result.kind != "gate" or result.value is None:
            continue
        path = directory / gate_file_name(result.check)
        try:
            _write(path, repr(float(result.value)))
            written.append(path)
        except OSError as exc:
            log.warning("could not write gate %s to %s: %s", result.check, path, exc)
    return written


def log_results(results: Sequence[CheckResult], identity: RunIdentity,
                stream: TextIO | None = None) -> None:
    """One JSON line per result, carrying the run, step and node identity."""
    out = sys.stderr if stream is None else stream
    base = identity.log_fields()
    for result in results:
        record = {"ts": round(time.time(), 3), "logger": "argoscope.checks",
                  "level": "ERROR" if result.blocking else (
                      "WARNING" if result.status != "passed" else "INFO"),
                  **base, **result.to_dict()}
        if record.pop("features", None):
            record["features_drifted"] = sum(1 for f in result.features if f.drifted)
        try:
            out.write(json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n")
        except (OSError, ValueError) as exc:
            log.warning("could not log check %s: %s", result.check, exc)
    with contextlib.suppress(OSError):
        out.flush()
