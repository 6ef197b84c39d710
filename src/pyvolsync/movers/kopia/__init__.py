"""The kopia engine: volumes, identity and a Job running ``pyvolsync-mover kopia``."""
