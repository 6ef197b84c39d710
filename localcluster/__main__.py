"""`python -m localcluster up|down|status`: the local cluster from a shell (`make cluster-up`).

`up` leaves the processes running after it exits; `down` (a later, separate command) finds
them through the PID files in the state directory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from localcluster import binaries, controlplane


def _up(plane: controlplane.ControlPlane) -> int:
    try:
        plane.start()
    except (binaries.MissingBinariesError, controlplane.AlreadyRunningError) as error:
        print(f"localcluster: {error}", file=sys.stderr)
        return 1
    except controlplane.StartError as error:
        print(f"localcluster: start failed (stopped again): {error}", file=sys.stderr)
        return 1
    steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in plane.timings.items())
    print(f"localcluster: ready at {plane.server} ({steps})")
    if not plane.node_agent:
        print("localcluster: no node agent (localcluster.nodeagent not present): pods stay Pending")
    print(f"export KUBECONFIG={plane.kubeconfig}")
    return 0


def _down(plane: controlplane.ControlPlane) -> int:
    running = plane.running()
    plane.stop()
    stopped = ", ".join(f"{entry.name}={entry.pid}" for entry in running) or "nothing was running"
    print(f"localcluster: stopped ({stopped})")
    return 0


def _status(plane: controlplane.ControlPlane) -> int:
    running = plane.running()
    if not running:
        print(f"localcluster: not running in {plane.directory}")
        return 1
    for entry in running:
        print(f"{entry.name:<24} pid {entry.pid}")
    print(f"server     {plane.server}")
    print(f"kubeconfig {plane.kubeconfig}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command."""
    parser = argparse.ArgumentParser(prog="python -m localcluster", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--dir", type=Path, default=Path(".localcluster"), help="state directory")
    parser.add_argument(
        "--no-node-agent", action="store_true", help="do not start localcluster.nodeagent"
    )
    arguments = parser.parse_args(argv)
    plane = controlplane.ControlPlane(
        arguments.dir,
        node_agent=False if arguments.no_node_agent else None,
        detach=True,
        progress=lambda message: print(f"localcluster: {message}", flush=True),
    )
    handlers = {"up": _up, "down": _down, "status": _status}
    return handlers[arguments.command](plane)


if __name__ == "__main__":
    sys.exit(main())
