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


def test_maintenance_takes_over_from_a_source_that_created_the_repository_without_being_told(
    workspace: kopia_support.Workspace,
) -> None:
    (workspace.data / "file").write_text("x")
    workspace.mover("backup")  # the source app@ns created the repository: kopia made it owner

    stranger = workspace.mover(
        "maintenance", **MAINTAINER, KOPIA_MAINTENANCE_TAKEOVER_FROM="other@ns"
    )
    taken = workspace.mover(
        "maintenance", **MAINTAINER, KOPIA_MAINTENANCE_TAKEOVER_FROM="other@ns,app@ns"
    )

    assert stranger.result.error_kind is contract.ErrorKind.MAINTENANCE_NOT_OWNER
    assert taken.returncode == 0, taken
    assert _owner(workspace) == "maintenance@volsync"
    assert "took over maintenance from app@ns (a ReplicationSource writing the repository" in (
        taken.output
    )


def test_a_malformed_takeover_list_is_a_configuration_error_naming_it(
    workspace: kopia_support.Workspace,
) -> None:
    run = workspace.mover("maintenance", KOPIA_MAINTENANCE_TAKEOVER_FROM="app@ns,not-an-identity")

    assert run.result.error_kind is contract.ErrorKind.INVALID_CONFIGURATION
    assert "KOPIA_MAINTENANCE_TAKEOVER_FROM='not-an-identity' must be user@host" in run.output
