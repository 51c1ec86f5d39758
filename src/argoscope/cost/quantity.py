"""Kubernetes resource quantities (`500m`, `1.5`, `2Gi`, `1e3`, `128974848`) as exact numbers.

The grammar is apimachinery's (`resource.ParseQuantity`): an optionally signed decimal number
then one suffix, binary (`Ki` .. `Ei`), decimal (`n`, `u`, `m`, `k`, `M`, `G`, `T`, `P`, `E`)
or a decimal exponent (`e3`, `E-2`). Stricter than the Python client's `parse_quantity`, which
also takes `NaN`, `Infinity`, spaces and underscores: nothing Kubernetes admits is refused,
and on what both accept they agree (a property test holds it).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$")
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
# Kubernetes itself refuses exponents this large; a bound keeps Decimal arithmetic cheap.
_MAX_EXPONENT = 100


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(value: object) -> Decimal:
    """The exact value of a quantity given as a string (or a plain int/float from YAML)."""
    if isinstance(value, bool):
        raise QuantityError(f"not a quantity: {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        number = Decimal(repr(value))
        if not number.is_finite():
            raise QuantityError(f"not a quantity: {value!r}")
        return number
    if not isinstance(value, str):
        raise QuantityError(f"not a quantity: {type(value).__name__}")
    match = _QUANTITY.match(value)
    if match is None:
        raise QuantityError(f"not a quantity: {value[:40]!r}")
    try:
        number = Decimal(match.group("number"))
    except InvalidOperation:  # the pattern admits only decimal numbers; kept as a guard
        raise QuantityError(f"not a quantity: {value[:40]!r}") from None
    suffix = match.group("suffix")
    if suffix is None:
        return number
    if suffix in _BINARY:
        return number * (Decimal(1024) ** _BINARY[suffix])
    if suffix in _DECIMAL:
        return number.scaleb(_DECIMAL[suffix])
    exponent = int(suffix[1:])
    if abs(exponent) > _MAX_EXPONENT:
        raise QuantityError(f"exponent out of range: {value[:40]!r}")
    return number.scaleb(exponent)
