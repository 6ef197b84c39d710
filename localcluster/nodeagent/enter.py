"""Run one command inside a running container, as ``kubectl exec`` does on a real node.

The exec server runs this file (standard library only, like ``launch.py``) as
``python enter.py <error fd> <container pid> <plan.json> -- <command...>``. It joins the mount
namespace of the container's main process, takes that process's root (the tmpfs ``launch.py``
built) with ``chroot``, changes to the container's working directory, takes the plan's groups,
gid and uid, and execs the command with the plan's environment. The command therefore sees
exactly the files, volumes, identity and environment the container's own process sees.

When the command cannot be started, a line naming the command and the reason (in the words of
a container runtime: ``exec: "foo": executable file not found in $PATH``) is written to the
error descriptor and the helper exits 127 (not found) or 126 (found but not runnable, or the
container could not be entered). On success that descriptor is closed by the exec, so the
server reads nothing from it.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
PR_SET_PDEATHSIG = 1
NOT_FOUND = 127
NOT_RUNNABLE = 126
_LIBC = ctypes.CDLL(None, use_errno=True)


class StartError(Exception):
    """The command could not be started; ``code`` is the exit code to report."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def enter_container(pid: int) -> None:
    """Join the mount namespace of ``pid`` and take its root as ours."""
    namespace = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    root = os.open(f"/proc/{pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    if _LIBC.setns(namespace, CLONE_NEWNS) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")
    os.fchdir(root)
    os.chroot(".")
    os.close(namespace)
    os.close(root)


def take_identity(plan: dict[str, Any], parent_pid: int) -> None:
    """The container's groups, gid and uid; SIGKILL when the node agent dies."""
    os.setgroups([int(group) for group in plan.get("groups", [])])
    os.setgid(int(plan.get("gid", 0)))
    os.setuid(int(plan.get("uid", 0)))
    os.umask(0o022)
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        raise SystemExit(137)


def start(command: list[str], env: dict[str, str]) -> None:
    """Exec ``command`` (looked up on the container's PATH); raise StartError when it cannot."""
    try:
        os.execvpe(command[0], command, env)
    except FileNotFoundError:
        reason, code = "executable file not found in $PATH", NOT_FOUND
        if "/" in command[0]:
            reason = "no such file or directory"
        raise StartError(f'exec: "{command[0]}": {reason}', code) from None
    except OSError as error:
        raise StartError(f'exec: "{command[0]}": {error.strerror}', NOT_RUNNABLE) from None


def run(pid: int, plan: dict[str, Any], command: list[str], parent_pid: int) -> None:
    try:
        enter_container(pid)
        os.chdir(plan.get("working_dir") or "/")
        take_identity(plan, parent_pid)
    except OSError as error:
        raise StartError(f"cannot enter the container: {error}", NOT_RUNNABLE) from None
    start(command, dict(plan["env"]))


def main() -> None:
    parent_pid = os.getppid()
    error_fd, pid, plan_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    command = sys.argv[5:]
    os.set_inheritable(error_fd, False)
    with open(plan_path) as plan_file:
        plan = json.load(plan_file)
    try:
        run(pid, plan, command, parent_pid)
    except StartError as error:
        os.write(error_fd, str(error).encode(errors="replace"))
        raise SystemExit(error.code) from None


if __name__ == "__main__":
    main()
