"""The restic mover: volumes, identity and a Job running ``pyvolsync-mover restic``."""
