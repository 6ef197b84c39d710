"""Whose snapshots a kopia section reads and writes: the fork's identity rules.

A repository shared with the fork must file and find snapshots under the same user@host:path,
or a restore finds nothing; these are the rules from the fork's documentation, one by one.
"""

from __future__ import annotations

from pyvolsync.api import destination, source
from pyvolsync.movers.kopia import engine


def source_spec(**fields: object) -> source.KopiaSourceSpec:
    return source.KopiaSourceSpec.model_validate({"repository": "repo", **fields})


def destination_spec(**fields: object) -> destination.KopiaDestinationSpec:
    return destination.KopiaDestinationSpec.model_validate({"repository": "repo", **fields})


def test_a_source_is_its_name_at_its_namespace_on_data() -> None:
    parts = engine.identity(source_spec(), owner_name="web-db", owner_namespace="shop")
    assert engine.identity_of(parts) == "web-db@shop:/data"


def test_a_source_name_is_reduced_to_the_characters_kopia_takes() -> None:
    parts = engine.identity(source_spec(), owner_name="my.app", owner_namespace="shop")
    assert parts[0] == "myapp"
    assert len(engine.source_username("a" * 80)) == 50


def test_overrides_win_on_a_source() -> None:
    spec = source_spec(username="alice", hostname="nas", sourcePathOverride="/srv/data")
    parts = engine.identity(spec, owner_name="web", owner_namespace="shop")
    assert engine.identity_of(parts) == "alice@nas:/srv/data"


def test_a_destination_reads_its_own_name_unless_told_another_identity() -> None:
    plain = engine.identity(destination_spec(), owner_name="web", owner_namespace="shop")
    assert engine.identity_of(plain) == "web@shop:/data"
    told = destination_spec(
        sourceIdentity={
            "sourceName": "web-db",
            "sourceNamespace": "old",
            "sourcePathOverride": "/x",
        }
    )
    parts = engine.identity(told, owner_name="restore", owner_namespace="shop")
    assert engine.identity_of(parts) == "web-db@old:/x"
    own_namespace = destination_spec(sourceIdentity={"sourceName": "web-db"})
    parts = engine.identity(own_namespace, owner_name="restore", owner_namespace="shop")
    assert engine.identity_of(parts) == "web-db@shop:/data"


def test_a_destination_s_username_and_hostname_win_over_source_identity() -> None:
    spec = destination_spec(username="bob", hostname="laptop", sourceIdentity={"sourceName": "x"})
    parts = engine.identity(spec, owner_name="restore", owner_namespace="shop")
    assert engine.identity_of(parts) == "bob@laptop:/data"
