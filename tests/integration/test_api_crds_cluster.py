"""A real kube-apiserver serves the generated CRDs and keeps every corpus manifest intact.

The unit tests check the CRDs' shape; here the API server itself judges them: it must accept
them as structural, admit every manifest of tests/corpus (spec and status) without pruning or
defaulting a single field, refuse what upstream's CRDs refuse, and show the printer columns.
"""

from __future__ import annotations

import copy
import json
import pathlib
from typing import Any

import pytest
import yaml
from localcluster import controlplane, testing

pytestmark = pytest.mark.cluster

ROOT = pathlib.Path(__file__).parents[2]
CRD_FILES = sorted((ROOT / "deploy" / "crds").glob("volsync.backube_*.yaml"))
MANIFESTS = sorted((ROOT / "tests" / "corpus").glob("*/*.yaml"))
PLURALS = {
    "ReplicationSource": "replicationsources.volsync.backube",
    "ReplicationDestination": "replicationdestinations.volsync.backube",
    "KopiaMaintenance": "kopiamaintenances.volsync.backube",
}


@pytest.fixture(scope="module")
def crds(cluster: controlplane.ControlPlane) -> controlplane.ControlPlane:
    """The cluster with pyvolsync's CRDs installed and established."""
    testing.apply(cluster, *(yaml.safe_load(path.read_text()) for path in CRD_FILES))
    cluster.wait_for_all("crd", list(PLURALS.values()), "Established")
    return cluster


def in_namespace(document: dict[str, Any], namespace: str) -> dict[str, Any]:
    moved = copy.deepcopy(document)
    moved["metadata"]["namespace"] = namespace
    return moved


def kubectl_json(
    plane: controlplane.ControlPlane, *arguments: str, document: dict[str, Any]
) -> dict[str, Any]:
    result = plane.kubectl(*arguments, "-o", "json", "-f", "-", input_text=json.dumps(document))
    returned: dict[str, Any] = json.loads(result.stdout)
    return returned


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_the_api_server_keeps_every_field_of_the_manifest(
    crds: controlplane.ControlPlane, namespace: str, path: pathlib.Path
) -> None:
    document = in_namespace(yaml.safe_load(path.read_text()), namespace)
    dry_run = kubectl_json(crds, "create", "--dry-run=server", document=document)
    assert dry_run["spec"] == document["spec"]
    created = kubectl_json(crds, "create", document=document)
    assert created["spec"] == document["spec"]
    if "status" not in document:
        return
    document["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    updated = kubectl_json(crds, "replace", "--subresource=status", document=document)
    assert updated["status"] == document["status"]


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("schedule", "0 3 * * MON", "spec.trigger.schedule"),
        ("schedule", "@midnight", "spec.trigger.schedule"),
        ("copyMethod", "Copy", "spec.restic.copyMethod"),
        ("cacheCapacity", "lots", "spec.restic.cacheCapacity"),
    ],
)
def test_values_upstreams_crd_refuses_are_refused(
    crds: controlplane.ControlPlane, namespace: str, field: str, value: str, says: str
) -> None:
    document = in_namespace(
        yaml.safe_load((ROOT / "tests/corpus/supported/source-component.yaml").read_text()),
        namespace,
    )
    section = document["spec"]["trigger"] if field == "schedule" else document["spec"]["restic"]
    section[field] = value
    result = crds.kubectl(
        "create", "--dry-run=server", "-f", "-", input_text=json.dumps(document), check=False
    )
    assert result.returncode != 0
    assert says in result.stderr


def test_kubectl_get_shows_the_printer_columns(
    crds: controlplane.ControlPlane, namespace: str
) -> None:
    path = ROOT / "tests/corpus/supported/source-restic-direct.yaml"
    testing.apply(crds, in_namespace(yaml.safe_load(path.read_text()), namespace))
    table = crds.kubectl("get", "replicationsources", "-n", namespace).stdout
    assert table.split()[:7] == ["NAME", "SOURCE", "LAST", "SYNC", "DURATION", "NEXT", "SYNC"]
    assert "RESULT" in table.splitlines()[0]
    assert "notes-data" in table
