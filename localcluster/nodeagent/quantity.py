"""Kubernetes resource quantities ("1Gi", "500m") as exact numbers.

PVC requests become PV capacities and snapshot restore sizes, and resourceFieldRef env values are
quantities divided by a divisor; all of that needs the API's own arithmetic, not float guesses.
"""

from __future__ import annotations

import decimal
import math
import re

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": decimal.Decimal("1e-9"),
    "u": decimal.Decimal("1e-6"),
    "m": decimal.Decimal("1e-3"),
    "": decimal.Decimal(1),
    "k": decimal.Decimal(10**3),
    "M": decimal.Decimal(10**6),
    "G": decimal.Decimal(10**9),
    "T": decimal.Decimal(10**12),
    "P": decimal.Decimal(10**15),
    "E": decimal.Decimal(10**18),
}
_PATTERN = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[A-Za-z]*)$")


def parse(text: str) -> decimal.Decimal:
    """Parse a quantity string; raise ValueError for anything the API would reject."""
    match = _PATTERN.match(text.strip())
    if match is None:
        raise ValueError(f"not a quantity: {text!r}")
    number, suffix = match.groups()
    value = decimal.Decimal(number)
    if suffix[:1] in {"e", "E"}:
        return value * decimal.Decimal(10) ** int(suffix[1:])
    if suffix in _BINARY:
        return value * _BINARY[suffix]
    if suffix in _DECIMAL:
        return value * _DECIMAL[suffix]
    raise ValueError(f"unknown quantity suffix in {text!r}")


def to_bytes(text: str) -> int:
    """A storage quantity as a whole number of bytes (rounded up, as the API does)."""
    return math.ceil(parse(text))


def divide_ceiling(text: str, divisor: str) -> int:
    """``resourceFieldRef`` semantics: the value in units of the divisor, rounded up."""
    return math.ceil(parse(text) / parse(divisor))
