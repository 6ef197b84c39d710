"""`pyvolsync describe` shows the restic maintenance stamps a user checks after a fault."""

import datetime

from pyvolsync.cli import describe
from pyvolsync.planning import inplace


def test_the_last_passed_check_is_shown_next_to_prune_and_unlock() -> None:
    status = {
        "restic": {
            "lastPruned": "2026-11-20T02:00:00Z",
            "lastUnlocked": "incident-7",
            "lastChecked": "2026-11-24T02:00:00Z",
        }
    }
    now = datetime.datetime(2026, 11, 26, tzinfo=datetime.UTC)

    rows = dict(describe.status_rows(status, now=now))

    assert rows["last pruned"] == "2026-11-20T02:00:00Z"
    assert rows["last unlocked"] == "incident-7"
    assert rows["last check passed"] == "2026-11-24T02:00:00Z"


def test_a_kopia_source_is_described_by_its_kopia_section_and_secret_keys() -> None:
    source = {
        "kind": "ReplicationSource",
        "spec": {"sourcePVC": "data", "kopia": {"repository": "kopia-repo", "compression": "zstd"}},
    }
    rows = dict(describe.spec_rows(source))
    assert rows["kopia.compression"] == "zstd"
    assert not any(key.startswith("restic.") for key in rows)

    secret = {"data": {"KOPIA_REPOSITORY": "eA=="}}
    found = dict(describe.secret_rows(secret, "kopia-repo", engine="kopia"))
    assert str(found["missing"]) == "KOPIA_PASSWORD"


def test_a_kopia_status_shows_its_identity_and_cache_limits() -> None:
    status = {
        "kopia": {
            "requestedIdentity": "web@shop:/data",
            "lastConfiguredMetadataCacheSizeLimitMB": 716,
            "lastConfiguredContentCacheSizeLimitMB": 204,
        }
    }
    now = datetime.datetime(2026, 11, 26, tzinfo=datetime.UTC)
    rows = dict(describe.status_rows(status, now=now))
    assert rows["identity"] == "web@shop:/data"
    assert (rows["metadata cache limit (MiB)"], rows["content cache limit (MiB)"]) == (716, 204)
    assert "last pruned" not in rows


def test_the_snapshots_the_repository_keeps_are_summed_up_in_words() -> None:
    status = {
        "snapshots": {
            "count": 24,
            "pinned": 1,
            "oldest": "2026-11-19T03:00:00Z",
            "newest": "2026-11-26T02:00:00Z",
        }
    }
    now = datetime.datetime(2026, 11, 26, 3, tzinfo=datetime.UTC)

    rows = dict(describe.status_rows(status, now=now))

    assert rows["snapshots kept"] == ("24 (1 pinned), 2026-11-19T03:00:00Z to 2026-11-26T02:00:00Z")
    assert "snapshots kept" not in dict(describe.status_rows({}, now=now))


def test_an_unfinished_in_place_restore_says_what_to_run_next() -> None:
    journal = inplace.Journal(
        source="app",
        snapshot="5c0e2b7d" * 8,
        paths=("/config/config.php",),
        phase=inplace.Phase.STOPPED,
        workloads=(inplace.Workload(kind="Deployment", name="web", replicas=2),),
        started_at="2026-12-03T20:14:02Z",
    )

    rows = dict(describe.in_place_rows(journal, named="app -n apps"))
    done = dict(describe.in_place_rows(journal.at(inplace.Phase.DONE), named="app -n apps"))

    assert str(rows["state"]) == "unfinished at step stopped"
    assert "pyvolsync undo app -n apps" in rows["next"]
    assert rows["workloads stopped meanwhile"] == "Deployment web (2 replicas)"
    assert (str(done["state"]), done["next"]) == ("done", "pyvolsync undo app -n apps")
