"""What every report page must be: one self-contained file a browser shows without fetching."""

from __future__ import annotations

import re

EXTERNAL = re.compile(r"""(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
MAX_BYTES = 5 * 1024 * 1024


def assert_self_contained(html: str) -> None:
    """No scripts, nothing loaded from elsewhere (no src/href/url() to another host), < 5 MB."""
    assert "<script" not in html.lower()
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", html, re.I)
    assert "@import" not in html
    assert len(html.encode()) < MAX_BYTES
