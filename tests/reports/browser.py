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


def render(page: Path, width: int = 1200, height: int = 1800) -> Rendered:
    """Render `page` twice (DOM dump, screenshot); console messages from both runs."""
    binary = require_binary("chromium")
    url = page.resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        flags = [binary, *_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
        dumped = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True,
                                timeout=120, check=True)
        shot = Path(profile) / "shot.png"
        taken = subprocess.run([*flags, f"--screenshot={shot}", url], capture_output=True,
                               text=True, timeout=120, check=True)
        png = shot.read_bytes()
    console = [m.group(1) for text in (dumped.stderr, taken.stderr)
               for m in _CONSOLE.finditer(text)]
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
