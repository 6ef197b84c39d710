"""When does an idle object start a sync? Derived from the trigger and the status alone."""

import datetime

from pyvolsync.controller import statemachine as sm

UTC = datetime.UTC
CREATED = datetime.datetime(2026, 3, 1, 9, 40, tzinfo=UTC)
POLICY = sm.Policy()


def at(hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 3, 1, hour, minute, tzinfo=UTC)


def decide(
    trigger: sm.TriggerView,
    status: sm.StatusView,
    *,
    now: datetime.datetime,
    paused: bool = False,
    policy: sm.Policy = POLICY,
) -> sm.Decision:
    return sm.decide(
        trigger, status, paused=paused, created=CREATED, key="ns/app", now=now, policy=policy
    )


HOURLY = sm.TriggerView(schedule="0 * * * *")


def test_a_new_scheduled_object_syncs_at_once_as_upstream() -> None:
    decision = decide(HOURLY, sm.StatusView(), now=at(9, 41))
    assert decision.start


def test_a_new_scheduled_object_can_wait_for_its_first_slot() -> None:
    policy = sm.Policy(first_sync=sm.FirstSync.SCHEDULE)
    decision = decide(HOURLY, sm.StatusView(), now=at(9, 41), policy=policy)
    assert not decision.start
    assert decision.reason == "WaitingForSchedule"
    assert decision.next_sync_time == at(10)
    assert decision.wake_at == at(10)
    assert decide(HOURLY, sm.StatusView(), now=at(10), policy=policy).start


def test_the_next_scheduled_sync_counts_from_the_last_completion() -> None:
    status = sm.StatusView(last_sync_time=at(10, 2))
    waiting = decide(HOURLY, status, now=at(10, 30))
    assert not waiting.start
    assert waiting.next_sync_time == at(11)
    assert decide(HOURLY, status, now=at(11)).start


def test_a_failed_iteration_also_counts_as_the_last_run() -> None:
    status = sm.StatusView(last_sync_time=at(8, 2), last_failure_time=at(10, 5))
    decision = decide(HOURLY, status, now=at(10, 30))
    assert not decision.start
    assert decision.next_sync_time == at(11)


def test_manual_trigger_starts_once_per_value() -> None:
    trigger = sm.TriggerView(manual="restore-once", schedule="0 * * * *")
    assert decide(trigger, sm.StatusView(), now=at(10)).start
    answered = sm.StatusView(last_manual_sync="restore-once", last_sync_time=at(10, 1))
    decision = decide(trigger, answered, now=at(12))
    assert not decision.start
    assert decision.reason == "WaitingForManual"
    assert decision.next_sync_time is None
    assert decision.wake_at is None


def test_an_empty_manual_value_on_a_new_object_waits() -> None:
    decision = decide(sm.TriggerView(manual=""), sm.StatusView(), now=at(10))
    assert not decision.start


def test_without_trigger_an_object_syncs_again_at_once() -> None:
    status = sm.StatusView(last_sync_time=at(10))
    assert decide(sm.TriggerView(), status, now=at(10)).start


def test_without_trigger_a_failure_backs_off_and_doubles() -> None:
    policy = sm.Policy(failure_backoff=datetime.timedelta(minutes=5))
    status = sm.StatusView(last_failure_time=at(10), consecutive_failures=2)
    decision = decide(sm.TriggerView(), status, now=at(10, 5), policy=policy)
    assert not decision.start
    assert decision.wake_at == at(10, 10)
    assert decide(sm.TriggerView(), status, now=at(10, 10), policy=policy).start


def test_backoff_is_capped() -> None:
    policy = sm.Policy(
        failure_backoff=datetime.timedelta(minutes=5),
        failure_backoff_limit=datetime.timedelta(hours=1),
    )
    assert sm.failure_backoff(0, policy=policy) == datetime.timedelta(0)
    assert sm.failure_backoff(1, policy=policy) == datetime.timedelta(minutes=5)
    assert sm.failure_backoff(3, policy=policy) == datetime.timedelta(minutes=20)
    assert sm.failure_backoff(50, policy=policy) == datetime.timedelta(hours=1)


def test_paused_starts_nothing_and_says_so() -> None:
    decision = decide(HOURLY, sm.StatusView(), now=at(12), paused=True)
    assert not decision.start
    assert decision.reason == "Paused"
    assert "spec.paused" in decision.message


def test_jitter_shows_in_the_next_sync_time() -> None:
    policy = sm.Policy(jitter_window=datetime.timedelta(minutes=10))
    status = sm.StatusView(last_sync_time=at(10, 2))
    decision = decide(HOURLY, status, now=at(10, 30), policy=policy)
    assert decision.next_sync_time is not None
    assert at(11) <= decision.next_sync_time < at(11, 10)


def test_a_sync_is_running_while_the_start_time_is_set() -> None:
    assert sm.StatusView(last_sync_start_time=at(10)).syncing
    assert not sm.StatusView(last_sync_time=at(10)).syncing
