"""Notifications: what a message says, one digest for many changes, and delivery through Apprise
to a real local HTTP receiver (ntfy and plain JSON), retried when it answers 500, reported when it
never takes the message, and never sent for a target that is not a URL Apprise knows.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator

import pytest
import tenacity
from tests.support.receiver import Receiver, receiving

from pyvolsync.controller import metrics as metrics_module
from pyvolsync.controller import notifications
from pyvolsync.controller.notifications import Change, Notice
from pyvolsync.kube import client
from pyvolsync.kube import fake as fake_kube

FAILED = Notice(change=Change.FAILED, what="ReplicationSource apps/a", detail="WrongPassword: no")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as server:
        yield server


def _notifier(targets: dict[str, str]) -> tuple[notifications.Notifier, fake_kube.FakeKube]:
    kube = fake_kube.FakeKube()
    data = {key: base64.b64encode(value.encode()).decode() for key, value in targets.items()}
    kube.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "notify",
              "namespace": "pyvolsync"}, "data": data})  # fmt: skip
    notifier = notifications.Notifier(
        kube,
        notifications.SecretRef(namespace="pyvolsync", name="notify"),
        metrics=metrics_module.Metrics(),
        quiet=0.2,
        retry_wait=tenacity.wait_none(),
    )
    return notifier, kube


def test_one_change_reads_as_itself() -> None:
    message = notifications.compose([FAILED])

    assert message.title == "pyvolsync: ReplicationSource apps/a failing"
    assert message.body == "WrongPassword: no"
    assert message.notify_type == "failure"


def test_many_changes_make_one_digest_grouped_by_change() -> None:
    notices = [
        Notice(change=Change.FAILED, what=f"ReplicationSource apps/s{index}", detail="NFS down")
        for index in range(3)
    ] + [Notice(change=Change.RECOVERED, what="ReplicationSource apps/b", detail="synced again")]

    message = notifications.compose(notices)

    assert message.title == "pyvolsync: 3 failing, 1 recovered"
    assert message.body.splitlines() == [
        "failing:",
        "- ReplicationSource apps/s0: NFS down",
        "- ReplicationSource apps/s1: NFS down",
        "- ReplicationSource apps/s2: NFS down",
        "",
        "recovered:",
        "- ReplicationSource apps/b: synced again",
    ]
    assert message.notify_type == "failure", "the worst change sets the type"


def test_notices_close_together_are_sent_once_to_every_target(receiver: Receiver) -> None:
    notifier, _ = _notifier(
        {"json": f"json://{receiver.address}/hook", "ntfy": f"ntfy://{receiver.address}/backups"}
    )

    async def scenario() -> None:
        stop = asyncio.Event()
        notifier.tell(Notice(change=Change.FAILED, what="s0", detail="down"))
        running = asyncio.create_task(notifier.run(stop))
        for index in range(1, 5):  # they come while the notifier waits for quiet
            notifier.tell(Notice(change=Change.FAILED, what=f"s{index}", detail="down"))
        await asyncio.to_thread(receiver.wait_for, 2)
        stop.set()
        await running

    asyncio.run(scenario())

    by_path = {path.split("?")[0]: (headers, body) for path, headers, body in receiver.requests}
    assert len(receiver.requests) == 2 and set(by_path) == {"/hook", "/"}, receiver.requests
    document = json.loads(by_path["/hook"][1])
    assert document["title"] == "pyvolsync: 5 failing" and document["type"] == "failure"
    assert [line for line in document["message"].splitlines() if line.startswith("- ")] == [
        f"- s{index}: down" for index in range(5)
    ]
    published = json.loads(by_path["/"][1])  # ntfy's JSON publishing: the topic in the body
    assert (published["topic"], published["title"]) == ("backups", "pyvolsync: 5 failing")
    assert published["message"] == document["message"]


def test_a_receiver_answering_500_is_tried_again(receiver: Receiver) -> None:
    receiver.failures = 2
    notifier, kube = _notifier({"json": f"json://{receiver.address}/hook"})

    asyncio.run(notifier.deliver(notifications.compose([FAILED])))

    assert len(receiver.requests) == 3
    assert kube.events == []


def test_an_unreachable_or_unknown_target_is_reported_on_the_secret_and_others_still_get_it(
    receiver: Receiver,
) -> None:
    notifier, kube = _notifier({
        "down": "json://127.0.0.1:9/nothing-listens",
        "typo": "discrod://123/abc",
        "working": f"json://{receiver.address}/hook",
    })  # fmt: skip

    asyncio.run(notifier.deliver(notifications.compose([FAILED])))

    assert len(receiver.requests) == 1
    notes = sorted(event["note"] for event in kube.events)
    assert notes[0].startswith("notification to target 'down' failed after retries: ")
    assert notes[1] == (
        "notification to target 'typo' failed after retries: not a notification URL Apprise knows"
    )
    assert {event["reason"] for event in kube.events} == {"NotificationFailed"}
    regarding = {event["regarding"]["name"] for event in kube.events}
    assert regarding == {"notify"}
    sent = notifier.metrics.notifications.labels("working", "sent")._value.get()
    assert sent == 1


def test_a_missing_secret_sends_nothing_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    notifier, kube = _notifier({})
    kube.objects.pop((client.Kind.SECRET, "pyvolsync", "notify"))

    asyncio.run(notifier.deliver(notifications.compose([FAILED])))

    assert "notification Secret pyvolsync/notify does not exist" in caplog.text


@pytest.mark.parametrize("text", ["notify", "a/b/c", "/x", "x/"])
def test_a_secret_reference_must_be_namespace_and_name(text: str) -> None:
    with pytest.raises(ValueError, match="is not NAMESPACE/NAME of a Secret"):
        notifications.SecretRef.parse(text)
