"""Names of the objects the operator creates, exactly as upstream VolSync names them.

Admission policies, dashboards and people's runbooks match these names (``volsync-src-*`` Jobs in
particular), so they are part of the compatibility contract. Upstream shortens only the Job name,
because a Job's name becomes a label value (``job-name``), which is limited to 63 characters.
"""

from __future__ import annotations

import enum
import zlib

LABEL_VALUE_LIMIT = 63


class Role(enum.StrEnum):
    """Which side of a replication an object belongs to; the word in upstream's prefixes."""

    SOURCE = "src"
    DESTINATION = "dst"


def mover_job(role: Role, owner: str) -> str:
    """Return the mover Job's name: ``volsync-<src|dst>-<owner>``, hashed past 63 characters."""
    name = f"volsync-{role}-{owner}"
    if len(name) <= LABEL_VALUE_LIMIT:
        return name
    return f"volsync-{role}-{zlib.crc32(owner.encode()):08x}"


def service_account(role: Role, owner: str) -> str:
    """Return the name shared by the mover's ServiceAccount, Role and RoleBinding."""
    return f"volsync-{role}-{owner}"


def cache_claim(role: Role, owner: str) -> str:
    """Return the restic cache PVC's name (not shortened, as upstream)."""
    return f"volsync-{role}-{owner}-cache"


def source_copy(owner: str) -> str:
    """Return the name of a source's point-in-time copy: its clone PVC or its VolumeSnapshot.

    Upstream uses the same name for the VolumeSnapshot and the PVC restored from it.
    """
    return f"volsync-{owner}-src"


def destination_claim(owner: str) -> str:
    """Return the name of the PVC a destination creates when ``destinationPVC`` is not set."""
    return f"volsync-{owner}-dest"
