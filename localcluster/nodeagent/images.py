"""Which host program a container image stands for.

There is no container runtime here: a container runs as a local process. An image therefore maps
to a set of host commands. The repository name decides, ignoring registry, tag and digest:

| repository ends in       | runs                                      | entrypoint / cmd    |
|--------------------------|-------------------------------------------|---------------------|
| pyvolsync-mover          | the project's venv (sys.prefix/bin)       | pyvolsync-mover / - |
| pyvolsync                | the project's venv                        | pyvolsync / -       |
| busybox, alpine          | host tools (sh, sleep, shuf, cat, ...)    | - / sh              |
| debian, ubuntu, bash     | host tools                                | - / bash            |
| pause                    | host sleep                                | sleep infinity / -  |
| anything else            | the venv if the command's first word is a | - / -               |
|                          | program in the venv's bin directory;      |                     |
|                          | otherwise the container waits with reason |                     |
|                          | ErrImagePull                              |                     |

As with a real image, ``command`` replaces the entrypoint (and drops cmd) and ``args`` replaces
cmd.

For venv images PATH is ``<venv>/bin:<restic dir>:<standard dirs>``; for host images it is the
standard dirs. A container's own ``PATH`` env var wins, as with a real image.
"""

from __future__ import annotations

import dataclasses
import pathlib

STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclasses.dataclass(frozen=True)
class Runtime:
    """How to run one image on this host."""

    path: str
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()


class ImageNotMappedError(Exception):
    """The image has no host equivalent; the kubelet reports it like a failed pull."""


def repository_name(image: str) -> str:
    """``ghcr.io/home-operations/busybox:1.37.0@sha256:..`` -> ``home-operations/busybox``."""
    without_digest = image.split("@", 1)[0]
    parts = without_digest.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    last = parts[-1].split(":", 1)[0]
    return "/".join([*parts[:-1], last])


_HOST_IMAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "busybox": ((), ("sh",)),
    "alpine": ((), ("sh",)),
    "debian": ((), ("bash",)),
    "ubuntu": ((), ("bash",)),
    "bash": ((), ("bash",)),
    "pause": (("sleep", "infinity"), ()),
}
_VENV_IMAGES: dict[str, tuple[str, ...]] = {
    "pyvolsync-mover": ("pyvolsync-mover",),
    "pyvolsync": ("pyvolsync",),
}


def resolve(
    image: str, command: list[str], *, venv_bin: pathlib.Path, restic_dir: pathlib.Path
) -> Runtime:
    """Map an image (and the command the pod asks for) to a host runtime."""
    name = repository_name(image).rsplit("/", 1)[-1]
    venv_path = f"{venv_bin}:{restic_dir}:{STANDARD_PATH}"
    for suffix, entrypoint in _VENV_IMAGES.items():
        if name.endswith(suffix):
            return Runtime(path=venv_path, entrypoint=entrypoint)
    if name in _HOST_IMAGES:
        entrypoint, cmd = _HOST_IMAGES[name]
        return Runtime(path=STANDARD_PATH, entrypoint=entrypoint, cmd=cmd)
    if command and "/" not in command[0] and (venv_bin / command[0]).exists():
        return Runtime(path=venv_path)
    raise ImageNotMappedError(
        f'image "{image}" has no local mapping: the node agent runs images whose repository ends'
        f" in {', '.join(sorted(_VENV_IMAGES | _HOST_IMAGES))}, or any image whose command is a"
        f" program in {venv_bin}"
    )
