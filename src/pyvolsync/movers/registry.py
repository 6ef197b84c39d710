"""Which engine a ReplicationSource or ReplicationDestination uses: the spec section present.

The one list of engines the operator runs. The reconciler asks ``engine_of`` and never names an
engine itself; adding one is a line here (and its package under ``movers/``).
"""

from __future__ import annotations

from pyvolsync.movers import protocol
from pyvolsync.movers.kopia import engine as kopia
from pyvolsync.movers.restic import engine as restic

ENGINES: tuple[protocol.Mover, ...] = (restic.Restic(), kopia.Kopia())


def engine_of(spec: protocol.Spec | None) -> tuple[protocol.Mover, protocol.EngineSpec] | None:
    """Return the engine whose section ``spec`` sets, with that section; None when none is set.

    The validator has already refused a spec with two engines' sections.
    """
    if spec is None:
        return None
    for mover in ENGINES:
        section = mover.section(spec)
        if section is not None:
            return mover, section
    return None


def names() -> tuple[str, ...]:
    """Return the names of the engines the operator runs (their spec sections)."""
    return tuple(mover.name for mover in ENGINES)
