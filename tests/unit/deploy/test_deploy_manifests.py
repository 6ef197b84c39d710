"""The deployment manifests agree with each other and with the operator: chart, plain kustomize
manifests, admission policies (v1 and v1beta1) and the operator's settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from tests.unit.deploy import deploy_tools
from tests.unit.deploy.deploy_tools import CHART, ROOT

from pyvolsync.api import durations
from pyvolsync.cli import envsubst, main

pytestmark = pytest.mark.tools

ADMISSION = ROOT / "deploy" / "admission"
KUSTOMIZE = ROOT / "deploy" / "kustomize"
HELM_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")
NFS_SETTINGS = ("admissionPolicies.nfs.server=nas.example.lan",)


def by_kind_and_name(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(item["kind"], item["metadata"]["name"]): item for item in items}


def without_labels(item: dict[str, Any]) -> dict[str, Any]:
    metadata = {key: value for key, value in item["metadata"].items() if key != "labels"}
    return {**item, "metadata": metadata}


def operator_environment(items: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = by_kind_and_name(items)["Deployment", "pyvolsync"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def admission_objects(directory: Path) -> list[dict[str, Any]]:
    """The objects of a policy directory, read as written (kustomize's output folds long CEL
    expressions differently, which changes only their white space)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    return [
        item
        for resource in kustomization["resources"]
        for item in deploy_tools.documents((directory / resource).read_text())
    ]


def test_the_v1beta1_policies_are_the_v1_policies() -> None:
    stable = admission_objects(ADMISSION)
    beta = admission_objects(ADMISSION / "v1beta1")
    for item in stable:
        if item["apiVersion"] == "admissionregistration.k8s.io/v1":
            item["apiVersion"] = "admissionregistration.k8s.io/v1beta1"
    assert by_kind_and_name(beta) == by_kind_and_name(stable)


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_the_chart_renders_the_same_policies(version: str) -> None:
    directory = ADMISSION if version == "v1" else ADMISSION / "v1beta1"
    expected = by_kind_and_name(admission_objects(directory))
    parameters = expected["ConfigMap", "volsync-mover-nfs"]["data"]
    rendered = deploy_tools.render_chart(
        "admissionPolicies.enabled=true",
        f"admissionPolicies.apiVersion=admissionregistration.k8s.io/{version}",
        f"admissionPolicies.nfs.server={parameters['server']}",
        f"admissionPolicies.nfs.path={parameters['path']}",
    )
    policies = {
        key: without_labels(item)
        for key, item in by_kind_and_name(rendered).items()
        if key in expected
    }
    assert policies == expected


def test_the_nfs_policy_needs_its_export() -> None:
    done = deploy_tools.subprocess.run(
        [str(deploy_tools.helm()), "template", "pyvolsync", str(CHART),
         "--set", "admissionPolicies.enabled=true"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "admissionPolicies.nfs.server is required" in done.stderr


def test_the_chart_carries_the_generated_crds() -> None:
    for path in sorted((ROOT / "deploy" / "crds").glob("volsync.backube_*.yaml")):
        assert (CHART / "crds" / path.name).read_bytes() == path.read_bytes(), (
            f"{path.name} differs: run `make crds`"
        )


def test_the_kustomize_manifests_are_the_charts(tmp_path: Path) -> None:
    fresh = tmp_path / "operator.yaml"
    environment = {**os.environ, "HELM": str(deploy_tools.helm())}
    deploy_tools.subprocess.run(
        [str(KUSTOMIZE / "render.sh"), str(fresh)], env=environment, check=True
    )
    assert (KUSTOMIZE / "operator.yaml").read_text() == fresh.read_text(), (
        "deploy/kustomize/operator.yaml is stale: run `make deploy-manifests`"
    )


def test_kustomize_and_helm_grant_the_same_rules() -> None:
    built = by_kind_and_name(deploy_tools.kustomize_build(KUSTOMIZE))
    rendered = by_kind_and_name(deploy_tools.render_chart())
    for key in (("ClusterRole", "pyvolsync"), ("Role", "pyvolsync-leader-election")):
        assert built[key]["rules"] == rendered[key]["rules"]
    assert built["ClusterRoleBinding", "pyvolsync"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "pyvolsync", "namespace": "volsync-system"}
    ]
    assert {
        ("CustomResourceDefinition", "replicationsources.volsync.backube"),
        ("CustomResourceDefinition", "replicationdestinations.volsync.backube"),
        ("Namespace", "volsync-system"),
        ("Deployment", "pyvolsync"),
        ("Service", "pyvolsync-metrics"),
    } <= set(built)


def operator_options() -> dict[str, Any]:
    command = typer.main.get_command(main.app)
    assert isinstance(command, typer.main.TyperGroup)
    return {param.envvar: param for param in command.commands["operator"].params}


def test_every_operator_setting_is_a_chart_value() -> None:
    by_nfs = operator_environment(
        deploy_tools.render_chart(
            "operator.repositoryNFS=nas:/backups", "notifications.secret=pyvolsync-notify"
        )
    )
    by_volume = operator_environment(
        deploy_tools.render_chart("operator.repositoryVolume.persistentVolumeClaim.claimName=repo")
    )
    in_cluster = {"KUBECONFIG"}  # the Deployment uses its service account
    # Options without a variable (None) are development knobs, e.g. --progress-interval.
    assert set(operator_options()) - in_cluster - {None} == (set(by_nfs) | set(by_volume)) - {
        "USER"
    }
    assert by_nfs["PYVOLSYNC_REPOSITORY_NFS"] == "nas:/backups"
    assert by_nfs["PYVOLSYNC_NOTIFY_SECRET"] == "volsync-system/pyvolsync-notify"
    assert "PYVOLSYNC_NOTIFY_SECRET" not in by_volume, "no Secret named: no notifications"
    assert "PYVOLSYNC_REPOSITORY_VOLUME" not in by_nfs
    assert yaml.safe_load(by_volume["PYVOLSYNC_REPOSITORY_VOLUME"]) == {
        "persistentVolumeClaim": {"claimName": "repo"}
    }
    assert by_nfs["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


@pytest.mark.parametrize(
    "settings",
    [
        (),
        (
            "operator.jitter=10m",
            "operator.maxMovers=2",
            "operator.firstSync=schedule",
            "operator.leaderElection=false",
            "operator.timezone=Europe/Berlin",
            "mover.retries=0",
            "metrics.port=0",
        ),
    ],
)
def test_the_operator_accepts_the_charts_environment(
    settings: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = operator_environment(deploy_tools.render_chart(*settings))
    for name, value in environment.items():
        if isinstance(value, str):
            monkeypatch.setenv(name, value)
    command = typer.main.get_command(main.app).commands["operator"]  # type: ignore[attr-defined]
    context = command.make_context("operator", [])
    for option in settings:
        key, _, value = option.partition("=")
        if key == "operator.jitter":
            assert context.params["jitter"] == value
        if key == "operator.leaderElection":
            assert context.params["leader_election"] is False
    assert context.params["mover_image"] == "ghcr.io/pyvolsync/pyvolsync-mover:0.1.0"


@pytest.mark.parametrize(
    "settings",
    [
        (),
        (*NFS_SETTINGS, "admissionPolicies.enabled=true", "admissionPolicies.nfs.path=/x"),
        ("metrics.serviceMonitor.enabled=true", "operator.repositoryNFS=nas:/backups"),
        (
            "console.enabled=true",
            "console.auth=proxy",
            "console.trustedProxies={10.42.0.0/16}",
            "operator.repositoryNFS=nas:/backups",
        ),
    ],
)
def test_helm_lint_passes(settings: tuple[str, ...]) -> None:
    arguments = [part for setting in settings for part in ("--set", setting)]
    output = deploy_tools.run(deploy_tools.helm(), "lint", "--strict", CHART, *arguments)
    assert "1 chart(s) linted, 0 chart(s) failed" in output


def test_the_service_monitor_scrapes_the_metrics_port() -> None:
    rendered = by_kind_and_name(deploy_tools.render_chart("metrics.serviceMonitor.enabled=true"))
    monitor = rendered["ServiceMonitor", "pyvolsync"]["spec"]
    service = rendered["Service", "pyvolsync-metrics"]["spec"]
    assert monitor["endpoints"][0]["port"] == service["ports"][0]["name"] == "metrics"
    assert monitor["selector"]["matchLabels"].items() <= service["selector"].items()
    without_metrics = by_kind_and_name(
        deploy_tools.render_chart("metrics.serviceMonitor.enabled=true", "metrics.port=0")
    )
    assert ("ServiceMonitor", "pyvolsync") not in without_metrics
    assert ("Service", "pyvolsync-metrics") not in without_metrics


EXAMPLE = ROOT / "deploy" / "examples" / "volsync"


def test_the_example_policies_are_the_admission_policies() -> None:
    text = (EXAMPLE / "app" / "mutatingadmissionpolicy.yaml").read_text()
    substituted = envsubst.substitute(text, {"NFS_SERVER": "nas.example.lan"})
    assert by_kind_and_name(deploy_tools.documents(substituted)) == by_kind_and_name(
        admission_objects(ADMISSION)
    )


def test_the_example_builds_and_targets_the_policy_namespace() -> None:
    built = by_kind_and_name(deploy_tools.kustomize_build(EXAMPLE / "app"))
    assert set(built) == {
        ("OCIRepository", "pyvolsync"),
        ("HelmRelease", "volsync"),
        ("MutatingAdmissionPolicy", "volsync-mover-jitter"),
        ("MutatingAdmissionPolicy", "volsync-mover-nfs"),
        ("MutatingAdmissionPolicyBinding", "volsync-mover-jitter"),
        ("MutatingAdmissionPolicyBinding", "volsync-mover-nfs"),
        ("ConfigMap", "volsync-mover-nfs"),
    }
    flux = yaml.safe_load((EXAMPLE / "ks.yaml").read_text())
    binding = built["MutatingAdmissionPolicyBinding", "volsync-mover-nfs"]
    assert flux["spec"]["targetNamespace"] == binding["spec"]["paramRef"]["namespace"]
    assert flux["spec"]["path"].endswith("/volsync/app")


def keys_of(values: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for key, value in values.items():
        keys.add(prefix + key)
        if isinstance(value, dict) and value:
            keys |= keys_of(value, f"{prefix}{key}.")
    return keys


def test_the_example_release_uses_only_chart_values(tmp_path: Path) -> None:
    release = next(
        item
        for item in deploy_tools.documents((EXAMPLE / "app" / "helmrelease.yaml").read_text())
        if item["kind"] == "HelmRelease"
    )
    values = release["spec"]["values"]
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert keys_of(values) <= keys_of(defaults)
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    rendered = deploy_tools.run(
        deploy_tools.helm(), "template", "volsync", CHART, "--namespace", "volsync-system",
        "-f", values_file,
    )  # fmt: skip
    assert "kind: ServiceMonitor" in rendered


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("operator.maxMover=2", "additional properties 'maxMover' not allowed"),
        ("operator.firstSync=later", "/operator/firstSync"),
        ("operator.jitter=ten-minutes", "/operator/jitter"),
        ("operator.repositoryNFS=nas-without-path", "/operator/repositoryNFS"),
        ("admissionPolicies.apiVersion=admissionregistration.k8s.io/v1alpha1", "/apiVersion"),
        ("console.auth=basic", "/console/auth"),
    ],
)
def test_the_chart_refuses_a_misspelt_or_invalid_value(setting: str, message: str) -> None:
    done = deploy_tools.subprocess.run(
        [str(deploy_tools.helm()), "template", "pyvolsync", str(CHART), "--set", setting],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert message in done.stderr


@pytest.mark.parametrize("value", ["0s", "10m", "1h30m", "1.5h", "500ms"])
def test_durations_the_chart_accepts_are_durations_to_the_operator(value: str) -> None:
    environment = operator_environment(deploy_tools.render_chart(f"operator.jitter={value}"))
    assert durations.parse_duration(environment["PYVOLSYNC_JITTER"]).total_seconds() >= 0


def test_a_proxy_console_takes_identity_headers_only_from_the_proxy_it_names() -> None:
    with pytest.raises(AssertionError, match=r"console\.auth=proxy needs console\.trustedProxies"):
        deploy_tools.render_chart("console.enabled=true", "console.auth=proxy")

    rendered = by_kind_and_name(
        deploy_tools.render_chart(
            "console.enabled=true", "console.auth=proxy", "console.trustedProxies={127.0.0.1}"
        )
    )

    [container] = rendered["Deployment", "pyvolsync-console"]["spec"]["template"]["spec"][
        "containers"
    ]
    assert "--trusted-proxy=127.0.0.1" in container["args"]


def test_the_console_is_off_by_default_and_runs_apart_from_the_operator_when_on() -> None:
    assert not [
        item for item in deploy_tools.render_chart() if item["metadata"]["name"].endswith("console")
    ]
    rendered = by_kind_and_name(
        deploy_tools.render_chart("console.enabled=true", "operator.repositoryNFS=nas:/backups")
    )
    console = rendered["Deployment", "pyvolsync-console"]
    pod = console["spec"]["template"]
    assert pod["spec"]["serviceAccountName"] == "pyvolsync-console"
    [container] = pod["spec"]["containers"]
    assert container["args"][:3] == ["ui", "--auth=token", "--address=0.0.0.0"]
    assert "--repository-nfs=nas:/backups" in container["args"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    labels = pod["metadata"]["labels"]
    operator_selector = rendered["Deployment", "pyvolsync"]["spec"]["selector"]["matchLabels"]
    assert not operator_selector.items() <= labels.items(), "the operator must not own its pods"
    assert rendered["Service", "pyvolsync-console"]["spec"]["selector"].items() <= labels.items()
    rules = rendered["ClusterRole", "pyvolsync-console"]["rules"]
    granted = {(group, resource, verb) for rule in rules for group in rule["apiGroups"]
               for resource in rule["resources"] for verb in rule["verbs"]}  # fmt: skip
    assert ("authentication.k8s.io", "tokenreviews", "create") in granted
    assert ("authorization.k8s.io", "subjectaccessreviews", "create") in granted
    assert ("apps", "deployments", "patch") in granted, "an in-place restore stops the app"
    assert not {verb for group, resource, verb in granted if resource == "secrets"} - {"get"}
