"""pyvolsync: a VolSync-compatible backup operator and restic mover for Kubernetes.

The package is split in layers (see docs/architecture.md): the in-pod ``mover`` program talks to
restic and knows only ``contract``; the operator side builds on ``api`` models.
"""

__version__ = "0.1.0"
