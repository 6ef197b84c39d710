"""Start one container: build its filesystem view, drop privileges, exec its command.

The node agent runs this file (standard library only, so it starts fast and needs no imports
from the project) as ``unshare --mount --propagation private -- python launch.py <plan.json>``.
Inside the new mount namespace nothing it mounts is visible to the host, and everything vanishes
when the container's process exits.

The container's root is a fresh tmpfs holding:

- every top-level host directory bind-mounted at the same path (``/usr``, ``/etc``, ``/work``,
  ...), so host tools and the project's venv work unchanged;
- private ``/tmp`` and ``/run`` (empty, like an image's), and a minimal ``/dev`` (null, zero,
  full, random, urandom, tty, pts, shm);
- host directories that others may not enter (``/root``) replaced by an empty directory holding
  only the tool paths (Python, venv, restic) bound read-only, so a non-root container can run
  them and sees nothing else there;
- each volume bound at its mountPath. A mount point that does not exist is created inside the
  tmpfs; when its parent is a host directory (``/etc/app``), that directory is first "shadowed":
  a tmpfs is mounted over it and each original entry is bound back, so nothing is ever created in
  the host's own directories.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import stat
import sys
from typing import Any

MS_RDONLY = 1
PR_SET_PDEATHSIG = 1
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
PRIVATE_TOP_LEVEL = {"tmp": 0o1777, "run": 0o755}
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    result = _LIBC.mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        flags,
        data.encode() if data else None,
    )
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {source} on {target}: {os.strerror(error)}")


def bind(source: str, target: str, *, read_only: bool = False) -> None:
    mount(source, target, None, MS_BIND | MS_REC)
    if read_only:
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY)


class RootBuilder:
    """Builds the container's root under ``root`` and tracks which paths are host directories."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        self.host_paths: set[str] = set()

    def host(self, path: str) -> str:
        """The host path of a container path (its place under the new root)."""
        return self.root + path

    def resolve(self, path: str) -> str:
        """Follow symlinks as the container would see them, never leaving the root."""
        parts = [part for part in path.split("/") if part]
        current = "/"
        hops = 0
        while parts:
            part = parts.pop(0)
            candidate = os.path.join(current, part) if part not in {".", ".."} else current
            if part == "..":
                candidate = os.path.dirname(current.rstrip("/")) or "/"
            host_candidate = self.host(candidate)
            if os.path.islink(host_candidate):
                hops += 1
                if hops > 40:
                    raise OSError(f"too many symlinks resolving {path}")
                target = os.readlink(host_candidate)
                base = "/" if target.startswith("/") else current
                parts = [p for p in os.path.join(base, target).split("/") if p] + parts
                current = "/"
                continue
            current = candidate
        return current

    def is_host_directory(self, path: str) -> bool:
        """True when ``path`` lies in a directory bound from the host (not a volume, not tmpfs)."""
        owner = max(
            (
                prefix
                for prefix in self.host_paths
                if path == prefix or path.startswith(prefix + "/")
            ),
            key=len,
            default=None,
        )
        return owner is not None

    def shadow(self, path: str) -> None:
        """Replace the host directory ``path`` by a tmpfs that binds back each original entry."""
        host_source = path
        target = self.host(path)
        entries = sorted(os.listdir(host_source))
        mode = stat.S_IMODE(os.stat(host_source).st_mode)
        mount("tmpfs", target, "tmpfs", 0, f"mode={mode:o}")
        for entry in entries:
            source = os.path.join(host_source, entry)
            self.place(source, os.path.join(target, entry))
        self.host_paths = {
            prefix
            for prefix in self.host_paths
            if not (prefix == path or path.startswith(prefix + "/"))
        } | {os.path.join(path, entry) for entry in entries}

    def place(self, source: str, target: str) -> None:
        """Bind one host entry at ``target`` (a fresh path in a tmpfs)."""
        if os.path.islink(source):
            os.symlink(os.readlink(source), target)
        elif os.path.isdir(source):
            os.mkdir(target)
            bind(source, target)
        else:
            with open(target, "w"):
                pass
            bind(source, target)

    def ensure(self, path: str, *, directory: bool = True) -> str:
        """Make ``path`` exist in the container (dir or file) and return its resolved path."""
        resolved = self.resolve(path)
        if os.path.lexists(self.host(resolved)):
            return resolved
        parent = self.ensure(os.path.dirname(resolved) or "/")
        resolved = os.path.join(parent, os.path.basename(resolved))
        if self.is_host_directory(parent):
            self.shadow(parent)
        if directory:
            os.mkdir(self.host(resolved), 0o755)
        else:
            with open(self.host(resolved), "w"):
                pass
        return resolved


def build_root(builder: RootBuilder) -> list[str]:
    """Lay out the container's root; return the host directories it hides (shadowed/private)."""
    root = builder.root
    mount("tmpfs", root, "tmpfs", 0, "mode=755")
    shadowed: list[str] = []
    for entry in sorted(os.listdir("/")):
        source = "/" + entry
        target = root + source
        if entry in PRIVATE_TOP_LEVEL and not os.path.islink(source):
            os.mkdir(target)
            os.chmod(target, PRIVATE_TOP_LEVEL[entry])
            shadowed.append(source)
        elif entry == "dev":
            build_dev(target)
        elif os.path.isdir(source) and not os.path.islink(source):
            os.mkdir(target, 0o755)
            if os.stat(source).st_mode & stat.S_IXOTH:
                bind(source, target)
                builder.host_paths.add(source)
            else:
                shadowed.append(source)
        else:
            builder.place(source, target)
    return shadowed


def bind_tools(builder: RootBuilder, tool_paths: list[str], hidden: list[str]) -> None:
    """Bind back (read-only) each tool path that a hidden directory or a volume covers.

    A venv under /tmp or /root, or under a volume's mount path (an emptyDir at /tmp), would
    otherwise vanish from the container.
    """
    for tool in tool_paths:
        if any(tool == top or tool.startswith(top.rstrip("/") + "/") for top in hidden):
            target = builder.root + tool
            os.makedirs(target, 0o755, exist_ok=True)
            bind(tool, target, read_only=True)


def build_dev(target: str) -> None:
    os.mkdir(target)
    mount("tmpfs", target, "tmpfs", 0, "mode=755")
    for name in DEVICES:
        with open(os.path.join(target, name), "w"):
            pass
        bind("/dev/" + name, os.path.join(target, name))
    for name, mode in (("pts", 0o755), ("shm", 0o1777)):
        os.mkdir(os.path.join(target, name))
        os.chmod(os.path.join(target, name), mode)
    if os.path.isdir("/dev/pts"):
        bind("/dev/pts", os.path.join(target, "pts"))
    mount("tmpfs", os.path.join(target, "shm"), "tmpfs", 0, "mode=1777")
    for link, destination in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ):
        os.symlink(destination, os.path.join(target, link))


def mount_volume(builder: RootBuilder, volume: dict[str, Any], index: int) -> None:
    source = volume["source"]
    directory = os.path.isdir(source)
    target = builder.host(builder.ensure(volume["target"], directory=directory))
    full_bytes = volume.get("full_bytes")
    if full_bytes and directory:
        scratch = builder.host(builder.ensure(f"/.localcluster-faults/{index}"))
        mount("tmpfs", scratch, "tmpfs", 0, f"size={full_bytes},mode=755")
        for name in ("upper", "work"):
            os.mkdir(os.path.join(scratch, name))
        upper = os.path.join(scratch, "upper")
        os.chmod(upper, stat.S_IMODE(os.stat(source).st_mode))
        os.chown(upper, os.stat(source).st_uid, os.stat(source).st_gid)
        options = f"lowerdir={source},upperdir={upper},workdir={scratch}/work"
        mount("overlay", target, "overlay", 0, options)
        if volume.get("read_only"):
            mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
        return
    bind(source, target, read_only=bool(volume.get("read_only")))


def drop_privileges(plan: dict[str, Any]) -> None:
    os.setgroups([int(group) for group in plan.get("groups", [])])
    os.setgid(int(plan.get("gid", 0)))
    os.setuid(int(plan.get("uid", 0)))
    os.umask(0o022)
    die_with_parent(plan.get("parent_pid"))


def die_with_parent(parent_pid: int | None) -> None:
    """Ask the kernel for SIGKILL when the node agent dies, so no container outlives it.

    Set after the identity change, which would clear it; kept across the exec that follows.
    """
    if parent_pid is None:
        return
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        raise SystemExit(137)


def run(plan: dict[str, Any], error_stream: Any) -> None:
    builder = RootBuilder(plan["root"])
    hidden = build_root(builder)
    volumes = sorted(plan.get("volumes", []), key=lambda volume: volume["target"].count("/"))
    for index, volume in enumerate(volumes):
        mount_volume(builder, volume, index)
    hidden += [volume["target"] for volume in volumes]
    bind_tools(builder, list(plan.get("tool_paths", [])), hidden)
    termination = plan.get("termination_log")
    if termination:
        target = builder.ensure(termination["target"], directory=False)
        bind(termination["source"], builder.host(target))
    working_dir = builder.ensure(plan.get("working_dir") or "/")
    os.chroot(builder.root)
    os.chdir(working_dir)
    drop_privileges(plan)
    argv = list(plan["argv"])
    try:
        os.execvpe(argv[0], argv, dict(plan["env"]))
    except OSError as error:
        reason = (
            "executable file not found in $PATH"
            if isinstance(error, FileNotFoundError)
            else error.strerror
        )
        error_stream.write(f'exec: "{argv[0]}": {reason}\n')
        error_stream.flush()
        raise SystemExit(128) from None


def main() -> None:
    with open(sys.argv[1]) as plan_file:
        plan = json.load(plan_file)
    error_stream = open(plan["error_file"], "w")  # noqa: SIM115 - must stay open across chroot
    try:
        run(plan, error_stream)
    except SystemExit:
        raise
    except BaseException as error:
        error_stream.write(f"container start failed: {error}\n")
        error_stream.flush()
        raise SystemExit(128) from None


if __name__ == "__main__":
    main()
