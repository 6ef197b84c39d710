"""restic command lines are exact tuples: one argument per value, nothing for a shell to split."""

from pyvolsync.inpod.restic import commands


def test_backup_takes_the_working_directory_and_excludes_only_the_top_lost_and_found() -> None:
    assert commands.backup(data_dir="/data") == (
        "backup",
        "--host",
        "volsync",
        "--json",
        "--exclude",
        "/data/lost+found",
        ".",
    )


def test_backup_exclude_pattern_escapes_glob_characters_of_the_path() -> None:
    assert commands.backup(data_dir="/mnt/a*b[1]/")[5] == r"/mnt/a\*b\[1\]/lost+found"


def test_forget_is_scoped_to_the_mover_host_grouped_like_upstream_and_keeps_pins() -> None:
    assert commands.forget(("--keep-last", "3")) == (
        "forget",
        "--host",
        "volsync",
        "--group-by",
        "host,paths",
        "--keep-last",
        "3",
        "--keep-tag",
        "pyvolsync-pinned",
    )


def test_pin_unpin_and_forget_name_exactly_one_snapshot() -> None:
    assert commands.pin("abc123") == ("tag", "--add", "pyvolsync-pinned", "abc123")
    assert commands.unpin("abc123") == ("tag", "--remove", "pyvolsync-pinned", "abc123")
    assert commands.forget_snapshot("abc123") == ("forget", "abc123")


def test_a_source_tags_its_snapshots_and_forgets_only_its_own_and_untagged_ones() -> None:
    assert commands.backup(data_dir="/data", source="shop/db")[3:5] == (
        "--tag",
        "pyvolsync-source=shop/db",
    )
    assert commands.forget(("--keep-last", "3"), source="shop/db") == (
        "forget",
        "--host",
        "volsync",
        "--tag",
        "pyvolsync-source=shop/db",
        "--tag",
        "",
        "--group-by",
        "host,paths",
        "--keep-last",
        "3",
        "--keep-tag",
        "pyvolsync-pinned",
    )


def test_restore_keeps_lost_and_found_and_user_xattrs() -> None:
    assert commands.restore("abc123", target="/data", delete=False) == (
        "restore",
        "abc123",
        "--target",
        "/data",
        "--json",
        "--exclude",
        "/lost+found",
        "--include-xattr",
        "user.*",
    )


def test_restore_deletes_only_when_asked() -> None:
    assert commands.restore("abc123", target="/data", delete=True)[-1] == "--delete"


def test_check_reads_a_data_subset_only_when_given() -> None:
    assert commands.check(read_data_subset=None) == ("check", "--json")
    assert commands.check(read_data_subset="2/5") == (
        "check",
        "--json",
        "--read-data-subset",
        "2/5",
    )


def test_snapshots_lists_the_mover_host_without_a_lock() -> None:
    assert commands.snapshots() == ("snapshots", "--json", "--no-lock", "--host", "volsync")


def test_unlock_never_removes_live_locks() -> None:
    assert commands.unlock() == ("unlock",)
