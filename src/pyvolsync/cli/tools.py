"""The user's commands (status, describe, sync, ...), registered on the ``pyvolsync`` app.

They live in their own modules so the operator's entry point stays small; ``register`` is the
one line ``cli.main`` needs. The same app also runs as ``kubectl pyvolsync`` (the
``kubectl-pyvolsync`` console script), since kubectl runs any ``kubectl-<name>`` on PATH.
"""

from __future__ import annotations

import typer

from pyvolsync.cli import acknowledge, actions, browse, describe, pins, restore, snapshots, status
from pyvolsync.cli.console import command as console


def register(app: typer.Typer) -> None:
    """Add the user's commands to ``app``."""
    app.command("status")(status.status)
    app.command("describe")(describe.describe)
    app.command("sync")(actions.sync)
    app.command("snapshots")(snapshots.snapshots)
    app.command("pin")(pins.pin)
    app.command("unpin")(pins.unpin)
    app.command("forget")(pins.forget)
    app.command("ls")(browse.ls)
    app.command("cat")(browse.cat)
    app.command("download")(browse.download)
    app.command("find")(browse.find)
    app.command("diff")(browse.diff)
    app.command("restore")(restore.restore)
    app.command("undo")(restore.undo)
    app.command("unlock")(actions.unlock)
    app.command("logs")(actions.logs)
    app.command("ack")(acknowledge.ack)
    app.command("pause")(actions.pause)
    app.command("resume")(actions.resume)
    app.command("ui")(console.ui)
