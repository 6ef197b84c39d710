"""A cluster-wide limit on how many movers run at once.

Upstream starts every due mover immediately, so a cluster of hourly sources hits its storage with
all of them at minute 0 (users bolt on admission policies to spread them). The operator holds one
slot per object with a sync in progress; an object whose sync is due while every slot is taken
waits (reason ``WaitingForMoverSlot``) and is woken, oldest first, when a slot frees up.

The holders are derived state: at start-up the operator fills them from the objects whose status
says a sync is in progress, before it starts anything new.
"""

from __future__ import annotations

import collections
from collections.abc import Callable


class MoverSlots:
    """Slots for running movers; ``limit`` 0 means no limit."""

    def __init__(self, limit: int, *, wake: Callable[[str], None]) -> None:
        self.limit = limit
        self.holders: set[str] = set()
        self.waiting: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._wake = wake

    def hold(self, key: str) -> None:
        """Record that ``key`` runs a sync, whatever the limit (used for syncs found running)."""
        self.holders.add(key)
        self.waiting.pop(key, None)

    def try_acquire(self, key: str) -> bool:
        """Take a slot for ``key`` if one is free and nobody queued earlier waits for it."""
        if key in self.holders:
            return True
        free = self.limit <= 0 or len(self.holders) < self.limit
        first_in_line = not self.waiting or next(iter(self.waiting)) == key
        if free and first_in_line:
            self.hold(key)
            return True
        self.waiting.setdefault(key, None)
        return False

    def release(self, key: str) -> None:
        """Give back ``key``'s slot (or its place in line) and wake whoever may now start."""
        self.waiting.pop(key, None)
        if key not in self.holders:
            return
        self.holders.discard(key)
        free = len(self.waiting) if self.limit <= 0 else self.limit - len(self.holders)
        for waiting_key in list(self.waiting)[: max(free, 0)]:
            self._wake(waiting_key)

    @property
    def running(self) -> int:
        """Return how many syncs hold a slot."""
        return len(self.holders)
