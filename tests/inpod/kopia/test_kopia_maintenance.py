"""Maintenance runs as the repository's owner, and takes ownership only when told to."""

from __future__ import annotations

import json

from tests.inpod.kopia import kopia_support

from pyvolsync import contract

MAINTAINER = {
    "KOPIA_OVERRIDE_MAINTENANCE_USERNAME": "maintenance",
    "KOPIA_OVERRIDE_MAINTENANCE_HOSTNAME": "volsync",
}


def _owner(workspace: kopia_support.Workspace) -> str:
    return str(json.loads(workspace.kopia("maintenance", "info", "--json"))["owner"])


def test_the_owner_runs_full_maintenance(workspace: kopia_support.Workspace) -> None:
    (workspace.data / "file").write_text("x")
    workspace.mover("backup")

    run = workspace.mover("maintenance")

    assert run.returncode == 0, run
    assert run.result.operations[0].operation is contract.Operation.MAINTENANCE
    assert "maintenance run --full" in run.output


def test_another_owner_is_a_named_error_until_takeover_is_asked(
    workspace: kopia_support.Workspace,
) -> None:
    (workspace.data / "file").write_text("x")
    workspace.mover("backup")

    refused = workspace.mover("maintenance", **MAINTAINER)
    owner_after_refusal = _owner(workspace)
    taken = workspace.mover("maintenance", **MAINTAINER, KOPIA_MAINTENANCE_TAKEOVER="true")

    assert refused.returncode == contract.ExitCode.NOT_RETRIABLE == 4
    assert refused.result.error_kind is contract.ErrorKind.MAINTENANCE_NOT_OWNER
    assert "owned by app@ns, not maintenance@volsync" in refused.result.message
    assert "KOPIA_MAINTENANCE_TAKEOVER=true" in refused.result.message
    assert owner_after_refusal == "app@ns"
    assert taken.returncode == 0, taken
    assert _owner(workspace) == "maintenance@volsync"


def test_a_new_repository_is_handed_to_the_named_maintenance_owner(
    workspace: kopia_support.Workspace,
) -> None:
    (workspace.data / "file").write_text("x")

    workspace.mover("backup", KOPIA_MAINTENANCE_OWNER="maintenance@volsync")

    assert _owner(workspace) == "maintenance@volsync"
    assert workspace.mover("maintenance", **MAINTAINER).returncode == 0
