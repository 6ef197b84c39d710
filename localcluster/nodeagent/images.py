"""Which host program a container image stands for.

There is no container runtime here: a container runs as a local process. An image therefore maps
to a set of host commands. The repository name decides, ignoring registry, tag and digest:

| repository ends in       | runs                                      | entrypoint / cmd    |
|--------------------------|-------------------------------------------|---------------------|
| pyvolsync-mover          | the project's venv (sys.prefix/bin)       | pyvolsync-mover / - |
| pyvolsync                | the project's venv                        | pyvolsync / -       |
| pyvolsync-noop-mover     | host sh: writes a success result document | see below           |
| busybox, alpine          | host tools (sh, sleep, shuf, cat, ...)    | - / sh              |
| debian, ubuntu, bash     | host tools                                | - / bash            |
| pause                    | host sleep                                | sleep infinity / -  |
| distroless/static:debug, | host tools, also at /busybox (read-only), | /busybox/sh / -     |
| distroless/base:debug    | where the image keeps its busybox         |                     |
| anything else            | the venv if the command's first word is a | - / -               |
|                          | program in the venv's bin directory;      |                     |
|                          | otherwise the container waits with reason |                     |
|                          | ErrImagePull                              |                     |

As with a real image, ``command`` replaces the entrypoint (and drops cmd) and ``args`` replaces
cmd.

``pyvolsync-noop-mover`` stands for a mover that copies nothing, for benchmarks of the operator
at scale (a thousand sources would otherwise start a thousand Pythons and resticks). Whatever the
pod's command line, ``sh`` runs a few lines that print one log line and write a valid success
result document (``pyvolsync.contract.MoverResult``: outcome ``succeeded``, a random snapshot ID,
one succeeded entry per operation named on the command line, e.g. ``backup``) to
``$PYVOLSYNC_RESULT_PATH`` or ``/dev/termination-log``, then exit 0. The operator therefore
records a completed sync, exactly as after a real mover; no data is read or written.

For venv images PATH is ``<venv>/bin:<restic dir>:<kopia dir>:<standard dirs>``; for host images
it is the standard dirs. A container's own ``PATH`` env var wins, as with a real image.
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
    wrapper: tuple[str, ...] = ()
    """Runs first, with the container's whole command line as its arguments (no-op images)."""
    binds: tuple[tuple[str, str], ...] = ()
    """Host directories bound read-only into the container (host path, container path)."""

    def command_line(self, words: list[str]) -> list[str]:
        """Return what runs for the container's command line ``words``."""
        return [*self.wrapper, *words]


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
NOOP_MOVER = "pyvolsync-noop-mover"
NOOP_MOVER_SCRIPT = r"""
operations=""
for word in "$@"; do
  case "$word" in
    unlock|backup|prune|restore|check|maintenance)
      operations="$operations${operations:+,}{\"operation\":\"$word\",\"outcome\":\"succeeded\"}";;
  esac
done
snapshot=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
printf '{"schema_version":1,"outcome":"succeeded","error_kind":null,"message":"",'\
'"snapshot_id":"%s","started_at":"%s","warnings":[],"operations":[%s]}' \
  "$snapshot" "$started" "$operations" > "${PYVOLSYNC_RESULT_PATH:-/dev/termination-log}"
echo "no-op mover: nothing copied, reported success for: $*"
"""
"""The no-op mover: its arguments are the pod's command line, e.g. ``pyvolsync-mover restic
backup``; it writes the result document with one entry per operation found among them."""

DISTROLESS = (
    "distroless/static",
    "distroless/base",
    "distroless/static-debian12",
    "distroless/base-debian12",
    "distroless/static-debian13",
    "distroless/base-debian13",
)
DISTROLESS_SHELL_DIRECTORY = "/busybox"
"""Where a distroless ``:debug`` image keeps its busybox shell and applets."""
_VENV_IMAGES: dict[str, tuple[str, ...]] = {
    "pyvolsync-mover": ("pyvolsync-mover",),
    "pyvolsync": ("pyvolsync",),
}


def resolve(
    image: str, command: list[str], *, venv_bin: pathlib.Path, tool_dirs: tuple[pathlib.Path, ...]
) -> Runtime:
    """Map an image (and the command the pod asks for) to a host runtime."""
    name = repository_name(image).rsplit("/", 1)[-1]
    venv_path = ":".join([str(venv_bin), *map(str, tool_dirs), STANDARD_PATH])
    if name.endswith(NOOP_MOVER):
        return Runtime(path=STANDARD_PATH, wrapper=("sh", "-c", NOOP_MOVER_SCRIPT, NOOP_MOVER))
    for suffix, entrypoint in _VENV_IMAGES.items():
        if name.endswith(suffix):
            return Runtime(path=venv_path, entrypoint=entrypoint)
    if name in _HOST_IMAGES:
        entrypoint, cmd = _HOST_IMAGES[name]
        return Runtime(path=STANDARD_PATH, entrypoint=entrypoint, cmd=cmd)
    if repository_name(image).endswith(DISTROLESS):
        return _distroless(image)
    if command and "/" not in command[0] and (venv_bin / command[0]).exists():
        return Runtime(path=venv_path)
    known = ", ".join(sorted([*_VENV_IMAGES, *_HOST_IMAGES, NOOP_MOVER]))
    raise ImageNotMappedError(
        f'image "{image}" has no local mapping: the node agent runs images whose repository ends'
        f" in {known}, or any image whose command is a program in {venv_bin}"
    )


def tag(image: str) -> str:
    """``gcr.io/distroless/static:debug-nonroot@sha256:..`` -> ``debug-nonroot`` ("" if none)."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.partition(":")[2]


def _distroless(image: str) -> Runtime:
    """A distroless ``:debug`` image: host tools, also at /busybox, its shell as entrypoint."""
    if not tag(image).startswith("debug"):
        raise ImageNotMappedError(
            f'image "{image}" has no shell nor any program the node agent could stand in for '
            "(distroless images other than :debug hold only what was copied into them); "
            f"use its :debug tag, whose busybox shell is {DISTROLESS_SHELL_DIRECTORY}/sh"
        )
    return Runtime(
        path=f"{STANDARD_PATH}:{DISTROLESS_SHELL_DIRECTORY}",
        entrypoint=(f"{DISTROLESS_SHELL_DIRECTORY}/sh",),
        binds=(("/usr/bin", DISTROLESS_SHELL_DIRECTORY),),
    )
