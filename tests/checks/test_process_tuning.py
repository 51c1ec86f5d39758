"""The drift command's process settings: set only where they cannot change a result and the
user has not set them."""

from __future__ import annotations

import os
import sys

import pytest

from argoscope.checks import process_tuning


def test_the_openblas_spin_is_shortened_before_numpy_is_loaded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENBLAS_THREAD_TIMEOUT", raising=False)
    monkeypatch.delitem(sys.modules, "numpy", raising=False)  # as in the command, before the first import
    process_tuning.tune_for_drift()
    assert os.environ["OPENBLAS_THREAD_TIMEOUT"] == "4"


def test_a_users_setting_and_a_loaded_openblas_are_left_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "12")
    monkeypatch.delitem(sys.modules, "numpy", raising=False)
    process_tuning.tune_for_drift()
    assert os.environ["OPENBLAS_THREAD_TIMEOUT"] == "12"
    monkeypatch.delenv("OPENBLAS_THREAD_TIMEOUT")
    monkeypatch.setitem(sys.modules, "numpy", sys)  # loaded: setting it now would be a lie
    process_tuning.tune_for_drift()
    assert "OPENBLAS_THREAD_TIMEOUT" not in os.environ


def test_without_glibcs_mallopt_nothing_is_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoMallopt:
        def __init__(self, name: object) -> None:
            pass

    monkeypatch.setattr(process_tuning.ctypes, "CDLL", NoMallopt)
    process_tuning.tune_for_drift()  # musl, macOS: no AttributeError escapes


def test_glibc_is_asked_to_keep_large_blocks_for_reuse(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []

    class Glibc:
        def __init__(self, name: object) -> None:
            self.mallopt = Recorder()

    class Recorder:
        argtypes: object = None
        restype: object = None

        def __call__(self, option: int, value: int) -> int:
            calls.append((option, value))
            return 1

    monkeypatch.setattr(process_tuning.ctypes, "CDLL", Glibc)
    process_tuning.tune_for_drift()
    assert calls == [(process_tuning.M_MMAP_THRESHOLD, 32 << 20),
                     (process_tuning.M_TRIM_THRESHOLD, 1 << 30)]
