"""Kubernetes resource quantities ("1Gi", "500m") as exact numbers, through lightkube's parser.

PVC requests become PV capacities and snapshot restore sizes, and resourceFieldRef env values are
quantities divided by a divisor; all of that needs the API's own arithmetic, not float guesses.
lightkube parses the quantity (exactly, to the API's milli precision); this module only adds the
two roundings the node agent needs.
"""

from __future__ import annotations

import math

from lightkube.utils.quantity import parse_quantity


def to_bytes(text: str) -> int:
    """A storage quantity as a whole number of bytes (rounded up, as the API does)."""
    value = parse_quantity(text)
    if value is None:
        raise ValueError(f"not a quantity: {text!r}")
    return math.ceil(value)


def divide_ceiling(text: str, divisor: str) -> int:
    """``resourceFieldRef`` semantics: the value in units of the divisor, rounded up."""
    value, unit = parse_quantity(text), parse_quantity(divisor)
    if value is None or not unit:
        raise ValueError(f"not a quantity and a divisor: {text!r}, {divisor!r}")
    return math.ceil(value / unit)
