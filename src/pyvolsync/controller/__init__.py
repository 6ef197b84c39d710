"""The operator: reconcilers for ReplicationSource, ReplicationDestination and the populator."""
