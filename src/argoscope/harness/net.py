"""Loopback networking: free ports, GETs that refuse any other address, and polling.

Every server the harness starts listens on loopback, and nothing here talks to anything
else: a URL that is not loopback is a bug in the caller (ValueError), never a request.
"""

from __future__ import annotations

import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence

LOOPBACK = "127.0.0.1"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _require_loopback(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK_HOSTS:
        raise ValueError(f"not a loopback http URL: {url!r}")


def http_get(url: str, timeout: float = 10.0) -> str:
    """The body of a GET of a loopback URL; OSError (urllib's errors included) on failure,
    ValueError when `url` is not loopback."""
    _require_loopback(url)
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode("utf-8"))


def http_ok(url: str) -> bool:
    """Whether a GET of a loopback URL answers 2xx (ValueError when it is not loopback)."""
    _require_loopback(url)
    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:
            return 200 <= int(response.status) < 300
    except OSError:
        return False


def first_page(base: str, paths: Sequence[str]) -> str | None:
    """Where the first of `base + path` that answers 2xx with a body ends up (after
    redirects, so the URL shown is the page itself), else None."""
    for path in paths:
        try:
            _require_loopback(base + path)
            with urllib.request.urlopen(base + path, timeout=2.0) as response:
                body = response.read()
                final = str(response.geturl())
        except (OSError, ValueError):
            continue
        if body.strip():
            return final
    return None


def wait_until(predicate: Callable[[], object], timeout: float = 30.0,
               what: str = "condition", interval: float = 0.05) -> None:
    """Poll `predicate` until it returns something true; TimeoutError naming `what` after
    `timeout` seconds. The predicate is always asked once more after the deadline passed,
    so a slow last poll cannot turn success into a timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)
