"""Object names are part of the compatibility contract: policies match volsync-src-* Jobs."""

from pyvolsync.planning import names


def test_job_names_follow_upstream() -> None:
    assert names.mover_job(names.Role.SOURCE, "photos") == "volsync-src-photos"
    assert names.mover_job(names.Role.DESTINATION, "photos-bootstrap") == (
        "volsync-dst-photos-bootstrap"
    )


def test_a_long_job_name_is_hashed_to_fit_a_label_value() -> None:
    owner = "a-very-long-replication-source-name-that-goes-on-and-on-and-on"
    job = names.mover_job(names.Role.SOURCE, owner)
    assert len(job) <= 63
    assert job.startswith("volsync-src-")
    # Stable: the same owner always gets the same Job, so a restarted operator adopts it.
    assert job == names.mover_job(names.Role.SOURCE, owner)
    assert job != names.mover_job(names.Role.SOURCE, owner + "x")


def test_a_name_of_exactly_63_characters_is_kept() -> None:
    owner = "x" * (63 - len("volsync-src-"))
    assert names.mover_job(names.Role.SOURCE, owner) == f"volsync-src-{owner}"


def test_other_names_are_not_shortened() -> None:
    owner = "y" * 80
    assert names.cache_claim(names.Role.SOURCE, owner) == f"volsync-src-{owner}-cache"
    assert names.source_copy(owner) == f"volsync-{owner}-src"
    assert names.destination_claim(owner) == f"volsync-{owner}-dest"
    assert names.service_account(names.Role.DESTINATION, owner) == f"volsync-dst-{owner}"
