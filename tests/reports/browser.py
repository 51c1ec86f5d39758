"""Headless Debian `chromium`: render a local page, take a screenshot, read the DOM and the
page's console messages. No network: every host name resolves to nothing."""

from __future__ import annotations

import re
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.servers import require_binary

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
          "--no-first-run", "--disable-extensions", "--enable-logging=stderr", "--v=0",
          "--host-resolver-rules=MAP * ~NOTFOUND"]
_CONSOLE = re.compile(r":CONSOLE[:(]\d+\)?\] (.*)")


@dataclass(frozen=True)
class Rendered:
    """What the browser made of a page."""

    dom: str
    png: bytes
    console: list[str]


def render(page: Path, width: int = 1200, height: int = 1800, *,
           screenshot: bool = True) -> Rendered:
    """Render `page` twice (DOM dump, screenshot; the DOM only without `screenshot`);
    console messages from both runs."""
    binary = require_binary("chromium")
    url = page.resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        flags = [binary, *_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
        dumped = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True,
                                timeout=120, check=True)
        logs, png = [dumped.stderr], b""
        if screenshot:
            shot = Path(profile) / "shot.png"
            taken = subprocess.run([*flags, f"--screenshot={shot}", url], capture_output=True,
                                   text=True, timeout=120, check=True)
            logs.append(taken.stderr)
            png = shot.read_bytes()
    console = [m.group(1) for text in logs for m in _CONSOLE.finditer(text)]
    return Rendered(dumped.stdout, png, console)


def png_pixels(png: bytes) -> tuple[int, int, bytes]:
    """Width, height and the raw (filtered) scanline bytes of an 8-bit RGB(A) PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat = 8, b""
    width = height = 0
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position:position + 8])
        body = png[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    return width, height, zlib.decompress(idat)


def distinct_byte_values(png: bytes) -> int:
    """How many different byte values the image data holds: a blank page has a handful."""
    return len(set(png_pixels(png)[2]))


# Test-only: measures the page's layout in the browser and leaves the numbers in the DOM. A
# copy of the page gets it (the page's own policy forbids scripts, as it should).
_PROBE = """<script>
(() => {
  const width = document.documentElement.clientWidth;
  const narrow = (e) => e.getBoundingClientRect().width;
  const found = {
    overflow: document.documentElement.scrollWidth - width,
    cut_labels: [...document.querySelectorAll('.lane .label, td.name, th')]
      .filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent.trim()),
    lanes: document.querySelectorAll('.lane').length,
    thin_bars: [...document.querySelectorAll('.timeline .bar')].filter((e) => narrow(e) < 5)
      .length,
    bars_outside: [...document.querySelectorAll('.timeline .bar')].filter((e) => {
      const box = e.getBoundingClientRect(), track = e.parentElement.getBoundingClientRect();
      return box.left < track.left - 1 || box.right > track.right + 1; }).length,
    verdict_top: document.querySelector('.verdict').getBoundingClientRect().top,
    first_text: document.body.innerText.trim().split('\\n')[0],
  };
  document.body.setAttribute('data-probe', JSON.stringify(found));
})();
</script>"""
_POLICY = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')


@dataclass(frozen=True)
class Layout:
    """What the probe measured with the probed copy's screenshot (the page's look: the probe
    only sets an attribute), and the page itself as rendered under its own policy."""

    probe: dict[str, Any]
    png: bytes
    page: Rendered


def layout(page: Path, width: int, height: int = 1700) -> Layout:
    """Render a probed copy of `page` (layout, screenshot) and `page` itself (DOM, console)."""
    import html
    import json

    probed = page.with_name(page.stem + f".probe-{width}.html")
    text = _POLICY.sub("", page.read_text(encoding="utf-8"))
    probed.write_text(text.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    try:
        measured = render(probed, width, height)
    finally:
        probed.unlink()
    found = re.search(r'data-probe="([^"]*)"', measured.dom)
    assert found, "the layout probe did not run"
    shown = render(page, width, height, screenshot=False)
    return Layout(json.loads(html.unescape(found.group(1))), measured.png, shown)
