"""The mover limit: never more than N syncs at once, and waiting objects start in order."""

from pyvolsync.controller import slots


def test_the_limit_holds_and_the_first_waiter_is_woken() -> None:
    woken: list[str] = []
    limit = slots.MoverSlots(2, wake=woken.append)
    assert limit.try_acquire("a")
    assert limit.try_acquire("b")
    assert not limit.try_acquire("c")
    assert not limit.try_acquire("d")
    assert limit.running == 2
    limit.release("a")
    assert woken == ["c"]
    # "d" may not jump the line while "c" has not taken its slot yet.
    assert not limit.try_acquire("d")
    assert limit.try_acquire("c")
    assert limit.running == 2


def test_acquiring_twice_is_harmless() -> None:
    limit = slots.MoverSlots(1, wake=lambda key: None)
    assert limit.try_acquire("a")
    assert limit.try_acquire("a")
    assert limit.running == 1


def test_no_limit_means_everyone_starts() -> None:
    limit = slots.MoverSlots(0, wake=lambda key: None)
    assert all(limit.try_acquire(str(number)) for number in range(100))


def test_syncs_found_running_hold_slots_beyond_the_limit() -> None:
    limit = slots.MoverSlots(1, wake=lambda key: None)
    limit.hold("a")
    limit.hold("b")
    assert not limit.try_acquire("c")
    limit.release("a")
    assert not limit.try_acquire("c")
    limit.release("b")
    assert limit.try_acquire("c")


def test_a_deleted_waiter_leaves_the_line() -> None:
    woken: list[str] = []
    limit = slots.MoverSlots(1, wake=woken.append)
    assert limit.try_acquire("a")
    assert not limit.try_acquire("b")
    assert not limit.try_acquire("c")
    limit.release("b")
    limit.release("a")
    assert woken == ["c"]
