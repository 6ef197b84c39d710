"""The app component: kustomize v5 + Flux's substitution give the spec's objects, and so does
`pyvolsync render-component`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from localcluster import binaries
from typer.testing import CliRunner

from pyvolsync.cli import component, envsubst, main

ROOT = Path(__file__).resolve().parents[3]
COMPONENT = ROOT / "deploy" / "components" / "volsync"


def kustomize() -> Path:
    path = binaries.Binaries.from_cache().kustomize
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make localcluster-bin`", pytrace=False)
    return path


def flux_build(
    tmp_path: Path, variables: dict[str, str], *, namespace: str
) -> list[dict[str, Any]]:
    """What Flux applies: `kustomize build` of an app using the component, then substitution of
    each resource's YAML."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "namespace": namespace,
                "components": [os.path.relpath(COMPONENT, app)],
            }
        )
    )
    built = subprocess.run(
        [str(kustomize()), "build", str(app)], capture_output=True, text=True, check=True
    )
    return [
        yaml.safe_load(envsubst.substitute(text, variables))
        for text in built.stdout.split("\n---\n")
    ]


def by_kind_and_name(documents: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(item["kind"], item["metadata"]["name"]): item for item in documents}


def restic_defaults(**changes: Any) -> dict[str, Any]:
    settings = {
        "repository": "web-volsync-secret",
        "volumeSnapshotClassName": "longhorn-snapshot-vsc",
        "storageClassName": "longhorn",
        "accessModes": ["ReadWriteOnce"],
        "cacheStorageClassName": "openebs-hostpath",
        "cacheAccessModes": ["ReadWriteOnce"],
        "cacheCapacity": "5Gi",
        "moverSecurityContext": {"runAsUser": 4000, "runAsGroup": 4000, "fsGroup": 4000},
    }
    return {**settings, **changes}


EXPECTED_DEFAULTS = [
    {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "web-volsync", "namespace": "apps"},
        "spec": {
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": "onepassword"},
            "target": {
                "name": "web-volsync-secret",
                "template": {
                    "data": {
                        "RESTIC_REPOSITORY": "/repository/web",
                        "RESTIC_PASSWORD": "{{ .RESTIC_PASSWORD }}",
                    }
                },
            },
            "dataFrom": [{"extract": {"key": "volsync-template"}}],
        },
    },
    {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationDestination",
        "metadata": {
            "name": "web-bootstrap",
            "namespace": "apps",
            "labels": {"kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent"},
        },
        "spec": {
            "trigger": {"manual": "restore-once"},
            "restic": restic_defaults(
                copyMethod="Snapshot",
                capacity="1Gi",
                cleanupCachePVC=True,
                cleanupTempPVC=True,
                enableFileDeletion=True,
            ),
        },
    },
    {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "dataSourceRef": {
                "apiGroup": "volsync.backube",
                "kind": "ReplicationDestination",
                "name": "web-bootstrap",
            },
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": "longhorn",
        },
    },
    {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {
            "sourcePVC": "web",
            "trigger": {"schedule": "0 * * * *"},
            "restic": restic_defaults(
                copyMethod="Snapshot",
                pruneIntervalDays=7,
                retain={"hourly": 24, "daily": 7},
            ),
        },
    },
]


@pytest.mark.tools
def test_flux_and_render_component_give_the_spec_defaults(tmp_path: Path) -> None:
    flux = flux_build(tmp_path, {"APP": "web"}, namespace="apps")
    rendered = component.render(COMPONENT, {"APP": "web"}, namespace="apps")
    assert by_kind_and_name(flux) == by_kind_and_name(EXPECTED_DEFAULTS)
    assert rendered == EXPECTED_DEFAULTS


@pytest.mark.tools
def test_every_variable_of_the_spec_reaches_its_field(tmp_path: Path) -> None:
    variables = {
        "APP": "photos",
        "VOLSYNC_CLAIM": "photos-data",
        "VOLSYNC_CAPACITY": "20Gi",
        "VOLSYNC_CACHE_CAPACITY": "2Gi",
        "VOLSYNC_CACHE_ACCESSMODES": "ReadWriteMany",
        "VOLSYNC_ACCESSMODES": "ReadWriteMany",
        "VOLSYNC_STORAGECLASS": "local-path",
        "VOLSYNC_SNAPSHOTCLASS": "csi-snapclass",
        "VOLSYNC_CACHE_SNAPSHOTCLASS": "local-path",
        "VOLSYNC_COPYMETHOD": "Clone",
        "APP_UID": "1000",
        "APP_GID": "100",
    }
    flux = by_kind_and_name(flux_build(tmp_path, variables, namespace="media"))
    rendered = by_kind_and_name(component.render(COMPONENT, variables, namespace="media"))
    assert rendered == flux
    source = rendered["ReplicationSource", "photos"]["spec"]
    assert source["sourcePVC"] == "photos-data"
    assert source["restic"]["copyMethod"] == "Clone"
    assert source["restic"]["moverSecurityContext"] == {
        "runAsUser": 1000,
        "runAsGroup": 100,
        "fsGroup": 100,
    }
    restic = rendered["ReplicationDestination", "photos-bootstrap"]["spec"]["restic"]
    assert (restic["capacity"], restic["cacheCapacity"]) == ("20Gi", "2Gi")
    assert restic["cacheAccessModes"] == ["ReadWriteMany"]
    assert restic["volumeSnapshotClassName"] == "csi-snapclass"
    assert restic["copyMethod"] == "Snapshot"  # the bootstrap always publishes a snapshot
    claim = rendered["PersistentVolumeClaim", "photos-data"]["spec"]
    assert claim["storageClassName"] == "local-path"
    assert claim["resources"]["requests"]["storage"] == "20Gi"
    assert claim["dataSourceRef"]["name"] == "photos-bootstrap"
    secret = rendered["ExternalSecret", "photos-volsync"]["spec"]["target"]
    assert secret["template"]["data"]["RESTIC_REPOSITORY"] == "/repository/photos"


def test_without_app_nothing_renders() -> None:
    with pytest.raises(component.ComponentError, match=r"variables without a value.*: APP"):
        component.render(COMPONENT, {})


def test_a_resource_with_substitution_disabled_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("kind: Component\nresources: [a.yaml]\n")
    (tmp_path / "a.yaml").write_text(
        "kind: ConfigMap\nmetadata:\n  name: a\n"
        "  annotations: {kustomize.toolkit.fluxcd.io/substitute: disabled}\n"
        "data: {script: 'echo ${HOME}'}\n---\n"
        "kind: ConfigMap\nmetadata: {name: '${APP}'}\n"
    )
    rendered = component.render(tmp_path, {"APP": "web"})
    assert [item["metadata"]["name"] for item in rendered] == ["a", "web"]
    assert rendered[0]["data"]["script"] == "echo ${HOME}"


def test_the_command_prints_all_documents() -> None:
    result = CliRunner().invoke(
        main.app,
        ["render-component", "--app", "web", "--namespace", "apps", "--set", "APP_UID=1000"],
    )
    assert result.exit_code == 0, result.output
    documents = list(yaml.safe_load_all(result.stdout))
    assert [item["kind"] for item in documents] == [
        "ExternalSecret",
        "ReplicationDestination",
        "PersistentVolumeClaim",
        "ReplicationSource",
    ]
    assert {item["metadata"]["namespace"] for item in documents} == {"apps"}
    assert documents[3]["spec"]["restic"]["moverSecurityContext"]["runAsUser"] == 1000


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--set", "VOLSYNC_CAPACITY"], "is not VAR=VALUE"),
        (["--set", "bad-name=1"], "is not VAR=VALUE"),
        (["--set", "APP=other"], "differs from --app"),
    ],
)
def test_the_command_names_a_bad_setting(arguments: list[str], message: str) -> None:
    result = CliRunner().invoke(main.app, ["render-component", "--app", "web", *arguments])
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_missing_component_directory_is_reported(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main.app, ["render-component", "--app", "web", "--component-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "kustomization.yaml" in result.stderr


def test_the_kopia_component_renders_objects_the_validator_accepts() -> None:
    from pyvolsync.api import validation

    result = CliRunner().invoke(
        main.app, ["render-component", "--engine", "kopia", "--app", "web", "--namespace", "apps"]
    )
    assert result.exit_code == 0, result.output
    secret, restore, claim, backup = list(yaml.safe_load_all(result.stdout))
    assert set(secret["spec"]["target"]["template"]["data"]) == {
        "KOPIA_REPOSITORY",
        "KOPIA_PASSWORD",
    }
    assert restore["spec"]["kopia"]["sourceIdentity"] == {"sourceName": "web"}
    assert claim["spec"]["dataSourceRef"]["name"] == "web-bootstrap"
    assert backup["spec"]["kopia"]["retain"] == {"hourly": 24, "daily": 7}
    assert "restic" not in backup["spec"] and "restic" not in restore["spec"]
    for item in (restore, backup):
        item["metadata"]["uid"] = "u"
    assert validation.validate_destination(restore) == []
    assert validation.validate_source(backup) == []


def test_an_unknown_engine_is_refused_with_the_choices() -> None:
    result = CliRunner().invoke(main.app, ["render-component", "--engine", "borg", "--app", "web"])
    assert result.exit_code == 2
    assert "expected one of restic, kopia" in result.stderr
