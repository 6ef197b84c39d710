"""The kinds the console's addresses name: ``/source/...`` and ``/destination/...``."""

KINDS = {"source": "ReplicationSource", "destination": "ReplicationDestination"}
"""The page kind in an address, and the Kubernetes kind it shows."""
PAGE_KINDS = {kind: page for page, kind in KINDS.items()}
PLURALS = {"source": "replicationsources", "destination": "replicationdestinations"}
GROUP = "volsync.backube"
