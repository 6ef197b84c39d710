"""restic's exit codes and failure text become the contract's error kinds."""

from pathlib import Path

import pytest

from pyvolsync import contract
from pyvolsync.inpod import errors, runner
from pyvolsync.inpod.restic import failures

Kind = contract.ErrorKind


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        (0, failures.ResticExit.SUCCESS),
        (1, failures.ResticExit.FAILURE),
        (2, failures.ResticExit.FAILURE),
        (3, failures.ResticExit.INCOMPLETE),
        (10, failures.ResticExit.REPOSITORY_MISSING),
        (11, failures.ResticExit.REPOSITORY_LOCKED),
        (12, failures.ResticExit.WRONG_PASSWORD),
        (130, failures.ResticExit.INTERRUPTED),
        (77, failures.ResticExit.FAILURE),
        (-9, failures.ResticExit.FAILURE),
    ],
)
def test_unknown_exit_codes_are_failures(code: int, meaning: failures.ResticExit) -> None:
    assert failures.interpret(code) is meaning


RETRY = "Save(<lock/5ac621aea1>) returned error, retrying after 1.4s: open /repository/locks/x: "


def _completed(code: int, *stderr: str, timed_out: bool = False) -> failures.Completed:
    reader = failures.ResticStderr(quiet=True)
    for line in stderr:
        reader.handle(line)
    return failures.Completed(
        argv=("restic", "backup"),
        returncode=code,
        duration=1.0,
        stderr=reader,
        timeout=5.0,
        timed_out=timed_out,
    )


@pytest.mark.parametrize(
    ("completed", "kind"),
    [
        (_completed(10), Kind.REPOSITORY_MISSING),
        (_completed(11), Kind.REPOSITORY_LOCKED),
        (_completed(12), Kind.WRONG_PASSWORD),
        (_completed(1, "write /cache/x: no space left on device"), Kind.NO_SPACE),
        (_completed(130, f"{RETRY}read-only file system"), Kind.REPOSITORY_READ_ONLY),
        (_completed(130, f"{RETRY}permission denied"), Kind.REPOSITORY_READ_ONLY),
        (_completed(1, "open /repository/config: permission denied"), Kind.RESTIC_FAILED),
        (
            _completed(1, "unable to create lock in backend: open /r/locks/x: permission denied"),
            Kind.REPOSITORY_READ_ONLY,
        ),
        (
            _completed(1, 'Head "https://s3/x": dial tcp: lookup s3: no such host'),
            Kind.REPOSITORY_UNREACHABLE,
        ),
        (_completed(1, "connect: connection refused"), Kind.REPOSITORY_UNREACHABLE),
        (_completed(-15, timed_out=True), Kind.REPOSITORY_UNREACHABLE),
        (_completed(1, "Fatal: something else"), Kind.RESTIC_FAILED),
        (_completed(130), Kind.RESTIC_FAILED),
    ],
)
def test_failures_map_to_error_kinds(
    completed: failures.Completed, kind: contract.ErrorKind
) -> None:
    assert failures.failure_kind(completed) is kind


def test_failure_messages_quote_restic_and_say_what_to_do() -> None:
    error = failures.failure(
        _completed(11, "repository is already locked by PID 7"), action="backup"
    )

    assert isinstance(error, errors.RetriableError)
    assert error.message.startswith("backup failed: repository is already locked by PID 7.")
    assert "spec.restic.unlock" in error.message


DAMAGED_RESTORE = (
    '{"message_type":"error","error":{"message":"decrypting blob <data/805dcf24> from be57c86d '
    'failed: ciphertext verification failed"},"during":"restore","item":"/data/db.sqlite"}',
    '{"message_type":"error","error":{"message":"lchown /data/db.sqlite: no such file or '
    'directory"},"during":"restore","item":"/data/db.sqlite"}',
    '{"message_type":"exit_error","code":1,"message":"Fatal: There were 2 errors\\n"}',
)


def test_a_restore_from_a_damaged_pack_says_which_file_and_how_to_repair() -> None:
    completed = _completed(1, *DAMAGED_RESTORE)
    error = failures.failure(completed, action="restore")

    assert failures.failure_kind(completed) is Kind.REPOSITORY_DAMAGED
    assert error.message.startswith(
        "restore failed: Fatal: There were 2 errors (the first: /data/db.sqlite: decrypting blob "
        "<data/805dcf24> from be57c86d failed: ciphertext verification failed)"
    )
    assert "restic repair packs" in error.message


def test_a_wrong_password_is_permanent_and_names_the_secret_key() -> None:
    error = failures.failure(_completed(12), action="opening the repository")

    assert isinstance(error, errors.PermanentError)
    assert "RESTIC_PASSWORD key" in error.message


def test_a_timeout_says_how_long_restic_had() -> None:
    assert "within 5 s" in failures.failure(_completed(-15, timed_out=True), action="probe").message


def test_a_killed_restic_is_named_by_its_signal() -> None:
    assert _completed(-9).reason == "restic was killed by signal SIGKILL"


@pytest.mark.parametrize(
    ("line", "hopeless"),
    [
        (f"{RETRY}read-only file system", True),
        (f"{RETRY}permission denied", True),
        (f"{RETRY}no space left on device", True),
        (f"{RETRY}connection refused", False),
        ("open /data/x: permission denied", False),
    ],
)
def test_only_retries_no_retry_can_fix_are_hopeless(line: str, hopeless: bool) -> None:
    assert failures.hopeless_retry(line) is hopeless


def test_a_hopeless_retry_stops_restic_at_once_and_names_the_cause(tmp_path: Path) -> None:
    fake = tmp_path / "restic"
    fake.write_text(
        "#!/bin/sh\n"
        "sleep 60 >/dev/null 2>&1 &\n"
        "trap 'kill $!; exit 130' TERM\n"
        f"echo '{RETRY}read-only file system' >&2\n"
        "wait\n"
    )
    fake.chmod(0o755)
    restic = runner.Runner(
        executable=str(fake),
        reader=lambda quiet: failures.ResticStderr(quiet=quiet),
        environ={},
        termination_grace=5,
    )

    completed = restic.run(("backup",))

    assert completed.returncode == 130
    assert completed.reason.startswith("restic was stopped instead of retrying for minutes: ")
    assert failures.failure_kind(completed) is Kind.REPOSITORY_READ_ONLY
