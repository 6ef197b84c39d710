"""The pinned helm and kustomize (built by `make localcluster-bin`), and rendering with them."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from localcluster import binaries

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "deploy" / "charts" / "pyvolsync"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make localcluster-bin`", pytrace=False)
    return path


def helm() -> Path:
    version = binaries.read_versions()["HELM_VERSION"]
    return _require(binaries.cache_directory() / f"helm-v{version}" / "helm")


def kustomize() -> Path:
    return _require(binaries.Binaries.from_cache().kustomize)


def run(*command: str | Path) -> str:
    done = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def documents(text: str) -> list[dict[str, Any]]:
    return [item for item in yaml.safe_load_all(text) if item]


def render_chart(*settings: str, namespace: str = "volsync-system") -> list[dict[str, Any]]:
    """`helm template pyvolsync` of the chart with `--set` settings, as objects."""
    arguments: list[str] = []
    for setting in settings:
        arguments += ["--set", setting]
    output = run(helm(), "template", "pyvolsync", CHART, "--namespace", namespace, *arguments)
    return documents(output)


def kustomize_build(directory: Path) -> list[dict[str, Any]]:
    return documents(run(kustomize(), "build", directory))
