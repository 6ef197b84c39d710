"""Movers: what a ReplicationSource or ReplicationDestination does in each iteration.

``base`` holds the protocol every mover follows and the result it reports; one subpackage per
mover implements it (``restic`` is the one pyvolsync runs).
"""
