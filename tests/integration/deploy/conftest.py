"""Fixtures for the deployment tests: the CRDs and the spec's admission policies.

No operator runs on the session's cluster here: the session may already run one
(tests/integration/reconcile), and two on one cluster would fight over the same objects. Mover
Jobs are built with the operator's own planner instead (`pyvolsync.movers.jobs.mover_job`),
so the admission policies see exactly the Jobs the operator creates. The test that needs a
running operator starts its own control plane (test_deploy_operator_rbac.py).
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from localcluster import controlplane
from localcluster.testing import apply, wait_until
from tests.integration.deploy import deploy_support
from tests.integration.deploy.deploy_support import (
    ADMISSION,
    NFS_PATH,
    NFS_SERVER,
    POLICY_NAMES,
    POLICY_NAMESPACE,
)
from tests.support import operator as operator_support


@pytest.fixture(scope="session")
def volsync_crds(cluster: controlplane.ControlPlane) -> None:
    """The pyvolsync CRDs (deploy/crds) installed and established."""
    operator_support.install_crds(cluster)


@pytest.fixture(scope="module")
def admission_policies(cluster: controlplane.ControlPlane) -> Iterator[Path]:
    """The spec's policies (deploy/admission, v1) with the test's NFS export, removed after the
    module so that other tests' Jobs are not changed by them. Yields the export's directory."""
    with contextlib.suppress(subprocess.CalledProcessError):
        cluster.kubectl("create", "namespace", POLICY_NAMESPACE)
    # The parameters come first and go last: a binding in effect without them rejects movers.
    apply(cluster, deploy_support.nfs_parameters())
    for name in POLICY_NAMES:
        cluster.kubectl("apply", "--server-side", "-f", str(ADMISSION / f"{name}.yaml"))
    wait_until(
        lambda: all(deploy_support.policy_effects(cluster)),
        what="the admission policies to take effect",
    )
    yield cluster.directory / "node" / "nfs" / NFS_SERVER / NFS_PATH.lstrip("/")
    for name in POLICY_NAMES:
        cluster.kubectl("delete", "mutatingadmissionpolicybinding,mutatingadmissionpolicy", name)
    wait_until(
        lambda: not any(deploy_support.policy_effects(cluster)), what="the admission policies to go"
    )
    cluster.kubectl("delete", "configmap", "-n", POLICY_NAMESPACE, "volsync-mover-nfs")
