"""Where the node agent keeps its files, so tests and humans can find them.

State directory layout (all paths relative to ``--state-dir``):

- ``volumes/<pv-name>/``             data of a provisioned PersistentVolume
- ``snapshots/<content-name>/``      copy of a volume taken for a VolumeSnapshotContent
- ``nfs/<server>/<export path>/``    the local directory an ``nfs`` pod volume maps to
- ``pods/<pod-uid>/``                per-pod scratch: emptyDirs, secret/configMap files, container
                                     roots, termination-message files
- ``logs/<ns>_<pod>_<container>.log`` container output (stdout and stderr, interleaved)
- ``kubelet/``                        the self-signed certificate of the log server
"""

from __future__ import annotations

import dataclasses
import pathlib


@dataclasses.dataclass(frozen=True)
class StateLayout:
    """Computes every path the agent uses from its state directory."""

    root: pathlib.Path

    def volume_dir(self, pv_name: str) -> pathlib.Path:
        return self.root / "volumes" / pv_name

    def snapshot_dir(self, content_name: str) -> pathlib.Path:
        return self.root / "snapshots" / content_name

    def nfs_export(self, server: str, path: str) -> pathlib.Path:
        """The local directory standing in for ``server:path``."""
        relative = pathlib.PurePosixPath(path.strip("/") or ".")
        if ".." in relative.parts or "/" in server or server in {"", ".", ".."}:
            raise ValueError(f"unsafe nfs volume {server}:{path}")
        return self.root / "nfs" / server / relative

    def pod_dir(self, pod_uid: str) -> pathlib.Path:
        return self.root / "pods" / pod_uid

    def log_file(self, namespace: str, pod: str, container: str) -> pathlib.Path:
        return self.root / "logs" / f"{namespace}_{pod}_{container}.log"

    def previous_log_file(self, namespace: str, pod: str, container: str) -> pathlib.Path:
        return self.root / "logs" / f"{namespace}_{pod}_{container}.previous.log"

    def kubelet_dir(self) -> pathlib.Path:
        return self.root / "kubelet"

    def create(self) -> None:
        for name in ("volumes", "snapshots", "nfs", "pods", "logs", "kubelet"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        (self.root / "pods").chmod(0o700)
        (self.root / "kubelet").chmod(0o700)


def read_log(state_dir: str | pathlib.Path, namespace: str, pod: str, container: str) -> str:
    """Return a container's output as the node agent recorded it ('' before it started)."""
    path = StateLayout(pathlib.Path(state_dir)).log_file(namespace, pod, container)
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
