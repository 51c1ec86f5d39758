"""Process settings for `argoscope check drift`, set by the command (never by the library).

Both make the command cheaper without changing a result:

- OpenBLAS's helper threads spin for 2**28 cycles after each threaded dot product, and the
  Wasserstein distance ends with one per column: on two busy cores that spinning was a third
  of the command's CPU. `OPENBLAS_THREAD_TIMEOUT` shortens the spin; the thread count, which
  decides how a dot product is split and so its last bits, is left as it is. OpenBLAS reads
  it when it is loaded, so it is set only before numpy is first imported, and never over a
  value the user gave.
- glibc's malloc maps fresh pages for every large array (a dynamic threshold that same-sized
  arrays keep meeting) and returns them when freed, so each column's test faulted its arrays
  in page by page again: 75,000 page faults and close to half the tests' CPU at 500,000 rows
  x 20 columns. `mallopt` keeps blocks of up to 32 MiB (glibc's largest threshold) in the
  heap and freed memory in the process, for reuse. Where there is no glibc, nothing changes.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1  # glibc's malloc.h
M_MMAP_THRESHOLD = -3
LARGEST_MMAP_THRESHOLD = 32 << 20  # glibc refuses more on 64-bit (HEAP_MAX_SIZE / 2)
KEPT_FREE = 1 << 30


def tune_for_drift() -> None:
    """Apply both settings to this process (see the module's docstring)."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): keep its defaults
        return
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mallopt(M_MMAP_THRESHOLD, LARGEST_MMAP_THRESHOLD)
    mallopt(M_TRIM_THRESHOLD, KEPT_FREE)
