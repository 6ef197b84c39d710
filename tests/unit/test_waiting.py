"""The shared condition wait reads a missing object, a null status and no conditions as "not yet".

The real waits run against the local cluster in every integration suite; these pin the cases a
fresh object goes through (the race `kubectl wait` lost) with a scripted kubectl.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from localcluster import waiting

NOT_FOUND = 'Error from server (NotFound): jobs.batch "backup" not found'


class ScriptedKubectl:
    """Answers each `kubectl get` with the next object of a script (None = NotFound)."""

    def __init__(self, *documents: dict[str, Any] | None) -> None:
        self.answers: Iterator[dict[str, Any] | None] = iter(documents)
        self.last: dict[str, Any] | None = None
        self.calls = 0

    def __call__(self, *arguments: str, **_: object) -> subprocess.CompletedProcess[str]:
        self.calls += 1
        self.last = next(self.answers, self.last)
        if self.last is None:
            return subprocess.CompletedProcess(arguments, 1, "", NOT_FOUND)
        return subprocess.CompletedProcess(arguments, 0, json.dumps(self.last), "")


def job(*conditions: tuple[str, str], status: object = "absent") -> dict[str, Any]:
    document: dict[str, Any] = {"kind": "Job", "metadata": {"name": "backup"}}
    if conditions:
        listed = [{"type": kind, "status": value} for kind, value in conditions]
        document["status"] = {"conditions": listed}
    elif status != "absent":
        document["status"] = status
    return document


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting, "POLL_SECONDS", 0.0)


def test_a_fresh_object_is_waited_for_through_every_not_yet_state() -> None:
    kubectl = ScriptedKubectl(
        None,
        job(),
        job(status=None),
        job(status={"conditions": None}),
        job(("Complete", "False")),
        job(("Complete", "True")),
    )
    found = waiting.wait_for_condition(kubectl, "job", "backup", "Complete", namespace="app")
    assert waiting.is_true(found, "Complete")
    assert kubectl.calls == 6


def test_a_failed_job_ends_the_wait_at_once_with_its_reason() -> None:
    failed = job(("Failed", "True"))
    failed["status"]["conditions"][0].update(reason="BackoffLimitExceeded", message="too many")
    kubectl = ScriptedKubectl(job(), failed)
    with pytest.raises(waiting.WaitError, match="BackoffLimitExceeded: too many"):
        waiting.wait_for_condition(kubectl, "job", "backup", "Complete", timeout=60)
    assert kubectl.calls == 2


def test_a_timeout_names_the_object_and_what_it_had() -> None:
    kubectl = ScriptedKubectl(job(("Ready", "False")))
    with pytest.raises(
        waiting.WaitError, match=r"pod/app to be Ready; its conditions: Ready=False"
    ):
        waiting.wait_for_condition(kubectl, "pod", "app", "Ready", timeout=0)


def test_a_missing_object_at_the_deadline_is_said_so() -> None:
    with pytest.raises(waiting.WaitError, match="it does not exist"):
        waiting.wait_for_condition(
            ScriptedKubectl(None), "crd", "x.example.com", "Established", timeout=0
        )


def test_an_api_error_other_than_not_found_is_not_swallowed() -> None:
    def refusing(*arguments: str, **_: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(arguments, 1, "", "Error from server (Forbidden)")

    with pytest.raises(waiting.WaitError, match="Forbidden"):
        waiting.wait_for_condition(refusing, "crd", "x.example.com", "Established")
