"""Where the pinned control-plane binaries live, and a clear failure when they are not built.

`build/build.sh` (`make localcluster-bin`) fills the cache; this module only finds its output.
Versions come from `build/versions.env` so that the shell build and Python agree on one pin.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

BUILD_DIRECTORY = Path(__file__).resolve().parent / "build"
VERSIONS_FILE = BUILD_DIRECTORY / "versions.env"


class MissingBinariesError(RuntimeError):
    """The control-plane binaries have not been built yet."""


def read_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """Parse the KEY=VALUE lines of versions.env, ignoring comments and blank lines."""
    versions: dict[str, str] = {}
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            key, _, value = stripped.partition("=")
            versions[key.strip()] = value.strip()
    return versions


def cache_directory() -> Path:
    """The build cache shared with the rest of the project's tools."""
    configured = os.environ.get("PYVOLSYNC_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "pyvolsync"


@dataclasses.dataclass(frozen=True)
class Binaries:
    """Paths of the built binaries and the CRDs copied out of the Kubernetes module."""

    kubernetes_version: str
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kubectl: Path
    kustomize: Path
    snapshot_crds: Path

    @classmethod
    def from_cache(cls, cache: Path | None = None) -> Binaries:
        """The expected locations for the pinned versions, whether built or not."""
        root = cache or cache_directory()
        versions = read_versions()
        kubernetes = root / f"k8s-v{versions['K8S_VERSION']}"
        return cls(
            kubernetes_version=f"v{versions['K8S_VERSION']}",
            etcd=root / f"etcd-v{versions['ETCD_VERSION']}" / "etcd",
            kube_apiserver=kubernetes / "kube-apiserver",
            kube_controller_manager=kubernetes / "kube-controller-manager",
            kubectl=kubernetes / "kubectl",
            kustomize=root / f"kustomize-v{versions['KUSTOMIZE_VERSION']}" / "kustomize",
            snapshot_crds=kubernetes / "crds",
        )

    def missing(self) -> list[Path]:
        """Paths that do not exist yet."""
        paths = [
            self.etcd,
            self.kube_apiserver,
            self.kube_controller_manager,
            self.kubectl,
            self.kustomize,
            self.snapshot_crds,
        ]
        return [path for path in paths if not path.exists()]

    def require(self) -> Binaries:
        """Return self, or fail with the command that builds what is missing."""
        missing = self.missing()
        if missing:
            listing = ", ".join(str(path) for path in missing)
            raise MissingBinariesError(
                f"local control-plane binaries are missing ({listing}); "
                "run `make localcluster-bin` (builds them from Go modules, about 6-12 min cold)"
            )
        return self
