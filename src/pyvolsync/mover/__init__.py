"""The in-pod mover: ``pyvolsync-mover restic OP...`` drives restic inside a mover Job's pod.

It replaces upstream VolSync's ``entry.sh`` behind the same environment contract and reports a
typed result through the termination message. It imports only ``pyvolsync.contract`` and the
standard library, so the mover image needs nothing but Python and restic.
"""
