"""The Helm chart's identity for the operator, installed on the local cluster.

The RBAC test runs the real operator process under exactly the chart's rules: the chart is
rendered with the built helm, its ServiceAccount, ClusterRole(s), Role(s) and bindings are
applied, and the operator gets a kubeconfig holding a token of that ServiceAccount (TokenRequest
API, ``kubectl create token``), so every request it makes is authorised by the chart alone.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from localcluster import controlplane
from tests.support import kubeconfigs
from tests.unit.deploy import deploy_tools

RBAC_KINDS = frozenset(
    {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
)
TEST_RELEASE = "pyvolsync-security"
"""The release (and namespace) the tests install the chart's RBAC as."""

JsonObject = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Rule:
    """One grant: an API group, a resource (``jobs``) or subresource (``pods/log``), a verb."""

    group: str
    resource: str
    verb: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}" + (f".{self.group}" if self.group else "")


@dataclasses.dataclass(frozen=True)
class Release:
    """The chart rendered as release ``name`` in ``namespace``."""

    name: str
    namespace: str
    objects: tuple[JsonObject, ...]

    @classmethod
    def render(cls, name: str, namespace: str, *settings: str) -> Release:
        arguments = [item for setting in settings for item in ("--set", setting)]
        text = deploy_tools.run(
            deploy_tools.helm(), "template", name, deploy_tools.CHART,
            "--namespace", namespace, "--skip-crds", *arguments,
        )  # fmt: skip
        return cls(name, namespace, tuple(deploy_tools.documents(text)))

    def rbac(self) -> list[JsonObject]:
        """The chart's ServiceAccount, roles and bindings."""
        return [item for item in self.objects if item["kind"] in RBAC_KINDS]

    @property
    def service_account(self) -> str:
        return next(
            item["metadata"]["name"] for item in self.objects if item["kind"] == "ServiceAccount"
        )

    @property
    def username(self) -> str:
        """The name the API server knows the operator by (audit ``user.username``)."""
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"

    def granted(self) -> set[Rule]:
        """Every (group, resource, verb) the chart's roles grant."""
        found: set[Rule] = set()
        for role in self.objects:
            if role["kind"] not in {"ClusterRole", "Role"}:
                continue
            for rule in role.get("rules") or []:
                found |= {
                    Rule(group, resource, verb)
                    for group in rule.get("apiGroups") or []
                    for resource in rule.get("resources") or []
                    for verb in rule.get("verbs") or []
                }
        return found

    def install(self, plane: controlplane.ControlPlane) -> None:
        """Create the release's namespace and apply its RBAC objects."""
        plane.kubectl("create", "namespace", self.namespace, check=False)
        payload = json.dumps({"apiVersion": "v1", "kind": "List", "items": self.rbac()})
        plane.kubectl("apply", "--server-side", "-f", "-", input_text=payload)

    def kubeconfig(self, plane: controlplane.ControlPlane, path: Path) -> Path:
        """Write a kubeconfig that logs in with a fresh token of the chart's ServiceAccount."""
        return kubeconfigs.for_account(plane, self.service_account, self.namespace, path)
