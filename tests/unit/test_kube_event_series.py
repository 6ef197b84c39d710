"""Identical events within six minutes become one Event with a series, as client-go records them.

A source that reports the same problem on every look must not write a new Event each time:
`kubectl events` would show one line with a count, and etcd would not fill up.
"""

from __future__ import annotations

import asyncio
import datetime

from pyvolsync.kube import fake

SOURCE = {
    "apiVersion": "volsync.backube/v1alpha1",
    "kind": "ReplicationSource",
    "metadata": {"name": "app", "namespace": "apps", "uid": "uid-app"},
}


class Recording:
    def __init__(self) -> None:
        self.now = datetime.datetime(2026, 12, 3, 9, 0, tzinfo=datetime.UTC)
        self.kube = fake.FakeKube(clock=lambda: self.now)

    def say(self, note: str, *, reason: str = "TransferFailed") -> None:
        asyncio.run(
            self.kube.event(SOURCE, type_="Warning", reason=reason, action="Synchronize", note=note)
        )


def test_the_same_event_again_counts_on_one_series() -> None:
    recording = Recording()
    for _ in range(3):
        recording.say("wrong password")
        recording.now += datetime.timedelta(seconds=30)

    [event] = recording.kube.events
    assert event["note"] == "wrong password"
    assert event["series"] == {"count": 3, "lastObservedTime": "2026-12-03T09:01:00.000000Z"}


def test_a_different_note_or_reason_is_another_event() -> None:
    recording = Recording()
    recording.say("wrong password")
    recording.say("repository locked")
    recording.say("wrong password", reason="ConfigurationError")

    assert [(event["reason"], event["note"]) for event in recording.kube.events] == [
        ("TransferFailed", "wrong password"),
        ("TransferFailed", "repository locked"),
        ("ConfigurationError", "wrong password"),
    ]


def test_after_six_minutes_a_new_event_starts() -> None:
    recording = Recording()
    recording.say("wrong password")
    recording.now += datetime.timedelta(minutes=6, seconds=1)
    recording.say("wrong password")

    assert [event.get("series") for event in recording.kube.events] == [None, None]


def test_a_deleted_event_is_recorded_again_instead_of_lost() -> None:
    recording = Recording()
    recording.say("wrong password")
    [event] = recording.kube.events
    recording.kube.objects.pop(
        next(key for key in recording.kube.objects if key[2] == event["metadata"]["name"])
    )
    recording.say("wrong password")

    assert len(recording.kube.events) == 1
