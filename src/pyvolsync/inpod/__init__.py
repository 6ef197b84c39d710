"""The in-pod program: ``pyvolsync-mover ENGINE OP...`` drives restic or kopia inside a mover Job.

It replaces upstream VolSync's ``entry.sh`` (and the kopia fork's) behind the same environment
contracts and reports a typed result through the termination message. The modules here are the
engine-neutral part (entry point, runner, masking, logs, result); each engine is one package
(``restic``, ``kopia``). It imports only ``pyvolsync.contract`` and the standard library, so the
mover image needs nothing but Python and the engines' programs.
"""
