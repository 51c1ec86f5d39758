"""Kubernetes quantities in every form read as the Kubernetes client reads them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from argoscope.cost.quantity import QuantityError, parse_quantity

utils = pytest.importorskip("kubernetes.utils")

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

digits = st.text("0123456789", min_size=1, max_size=12)
number = st.one_of(
    digits,
    st.builds(lambda a, b: f"{a}.{b}", digits, digits),
    st.builds(lambda a: f"{a}.", digits),
    st.builds(lambda b: f".{b}", digits),
)
suffix = st.one_of(
    st.sampled_from(["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T",
                     "P", "E"]),
    st.builds(lambda e, sign, n: f"{e}{sign}{n}", st.sampled_from("eE"),
              st.sampled_from(["", "+", "-"]), st.integers(0, 30)),
)
quantity = st.builds(lambda sign, n, s: f"{sign}{n}{s}", st.sampled_from(["", "+", "-"]),
                     number, suffix)


@SETTINGS
@given(quantity)
@example("500m")
@example("1.5")
@example("2Gi")
@example("1e3")
@example("128974848")
@example("129e6")
@example("123Mi")
def test_every_kubernetes_form_reads_as_the_kubernetes_client_reads_it(text: str) -> None:
    assert parse_quantity(text) == utils.parse_quantity(text)


@pytest.mark.parametrize("text", ["", "Gi", "1.5.2", "1ki", "1mi", "NaN", "Infinity", " 1",
                                  "1 ", "1_000", "0x10", "1e", "1Gib", "--1", "1e400", "e3"])
def test_what_kubernetes_refuses_is_refused(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)


@SETTINGS
@given(st.integers(0, 10**12))
def test_yaml_numbers_and_their_string_forms_agree(value: int) -> None:
    assert parse_quantity(value) == parse_quantity(str(value)) == Decimal(value)
    assert parse_quantity(value / 1000) == pytest.approx(parse_quantity(f"{value}m"))
