"""Kubernetes quantities ("1Gi", "500M") as numbers, through lightkube's parser.

Only the kube layer may import lightkube; the planners that size things (a kopia cache limit is
a share of the cache volume) ask here.
"""

from __future__ import annotations

import math

from lightkube.utils.quantity import parse_quantity


def to_bytes(quantity: str | int) -> int:
    """A storage quantity as a whole number of bytes, rounded up; ValueError when malformed."""
    value = parse_quantity(str(quantity))
    if value is None:
        raise ValueError(f"not a quantity: {quantity!r}")
    return math.ceil(value)
