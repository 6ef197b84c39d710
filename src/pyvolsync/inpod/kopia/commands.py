"""kopia command lines, built by pure functions as tuples of arguments.

Nothing here runs anything or reads the environment, so every command the mover can issue is
visible in one file and tested by tuple equality. The runner adds the executable and the global
options (``--config-file`` of the run's own directory, no file logs). Values from users (paths,
snapshot IDs, additional arguments) are single arguments, never text for a shell to split, and
the additional arguments reach ``snapshot create`` only.
"""

from __future__ import annotations

from pyvolsync import contract
from pyvolsync.inpod.kopia import backends, config
from pyvolsync.inpod.volume import LOST_AND_FOUND

KEEP_ALL = 1_000_000
HOLD_RETENTION = tuple(f"{flag}={KEEP_ALL}" for flag in config.RETAIN_FLAGS.values())
"""Retention that keeps every snapshot (each rule keeps more than a repository ever holds)."""


def global_options(config_file: str) -> tuple[str, ...]:
    """Return the options of every command: the run's configuration file and no log files."""
    return (f"--config-file={config_file}", "--disable-file-logging")


def version() -> tuple[str, ...]:
    """Return the command that prints kopia's version."""
    return ("--version",)


def _cache_limits(settings: config.KopiaConfig) -> tuple[str, ...]:
    limits = (
        ("--metadata-cache-size-limit-mb", settings.metadata_cache_limit_mb),
        ("--content-cache-size-limit-mb", settings.content_cache_limit_mb),
    )
    return tuple(f"{flag}={value}" for flag, value in limits if value)


def _session(settings: config.KopiaConfig, identity: config.Identity) -> tuple[str, ...]:
    """Return the options shared by connect and create: cache, identity, nothing persisted."""
    return (
        f"--cache-directory={settings.cache_dir}",
        *_cache_limits(settings),
        f"--override-username={identity.username}",
        f"--override-hostname={identity.hostname}",
        "--no-persist-credentials",
        "--no-check-for-updates",
    )


def connect(
    backend: backends.Backend, settings: config.KopiaConfig, identity: config.Identity
) -> tuple[str, ...]:
    """Return the connection to an existing repository as ``identity``."""
    return ("repository", "connect", *backend.arguments, *_session(settings, identity))


def create(
    backend: backends.Backend, settings: config.KopiaConfig, identity: config.Identity
) -> tuple[str, ...]:
    """Return the creation of a new repository (kopia connects to it as well)."""
    return ("repository", "create", *backend.arguments, *_session(settings, identity))


def policy(settings: config.KopiaConfig) -> tuple[str, ...]:
    """Return the policy of the snapshot source: no top-level lost+found, compression, retention.

    It is set on ``user@host:<source path>``, the same source the snapshots record, so retention
    applies to the snapshots this identity takes even with a source path override. While the
    operator holds retention (an unacknowledged suspicious backup), it keeps every snapshot.
    """
    compression = (f"--compression={settings.compression}",) if settings.compression else ()
    retention = HOLD_RETENTION if settings.retention_held else settings.retention
    return (
        "policy", "set", settings.target, f"--add-ignore=/{LOST_AND_FOUND}",
        *compression, *retention,
    )  # fmt: skip


def snapshot(settings: config.KopiaConfig) -> tuple[str, ...]:
    """Return the snapshot of ``DATA_DIR``, recorded as the source path, with JSON on stdout
    (pinned as it is taken when the settings ask for it)."""
    parallel = (f"--parallel={settings.parallelism}",) if settings.parallelism else ()
    pinned = (f"--pin={contract.PINNED}",) if settings.browsing.pin_backup else ()
    return (
        "snapshot", "create", settings.data_dir, f"--override-source={settings.source_path}",
        "--json", "--progress", *parallel, *pinned, *settings.additional_arguments,
    )  # fmt: skip


def expire(settings: config.KopiaConfig) -> tuple[str, ...]:
    """Return the command that applies the source's retention policy now (deleting)."""
    return ("snapshot", "expire", settings.target, "--delete")


def snapshots(settings: config.KopiaConfig) -> tuple[str, ...]:
    """Return the listing of the identity's snapshots of the source path, as JSON."""
    return ("snapshot", "list", settings.target, "--json")


def restore(snapshot_id: str, settings: config.KopiaConfig) -> tuple[str, ...]:
    """Return the restore of a snapshot into the working directory (run it in ``DATA_DIR``).

    Files are written atomically (a temporary name, then a rename), as the fork does.
    """
    shallow = (f"--shallow={settings.shallow}",) if settings.shallow else ()
    delete = ("--delete-extra",) if settings.delete_extra else ()
    return (
        "snapshot", "restore", snapshot_id, ".", "--progress", "--write-files-atomically",
        *delete, *shallow,
    )  # fmt: skip


def show(object_id: str) -> tuple[str, ...]:
    """Return the command that writes a repository object to stdout: a folder's JSON listing,
    a file's content, a link's target."""
    return ("show", object_id)


def pin(snapshot_id: str, name: str = contract.PINNED) -> tuple[str, ...]:
    """Return the command that pins one snapshot (kopia's retention keeps pinned snapshots)."""
    return ("snapshot", "pin", snapshot_id, f"--add={name}")


def repin(snapshot_id: str, *, add: tuple[str, ...], remove: tuple[str, ...]) -> tuple[str, ...]:
    """Return the command that adds and removes pins of one snapshot at once."""
    added = tuple(f"--add={name}" for name in add)
    return ("snapshot", "pin", snapshot_id, *added, *(f"--remove={name}" for name in remove))


def unpin(snapshot_id: str, pins: tuple[str, ...]) -> tuple[str, ...]:
    """Return the command that removes the given pins of one snapshot."""
    return ("snapshot", "pin", snapshot_id, *(f"--remove={name}" for name in pins))


def delete(snapshot_id: str) -> tuple[str, ...]:
    """Return the command that deletes exactly one snapshot (maintenance frees its data)."""
    return ("snapshot", "delete", snapshot_id, "--delete")


def maintenance_info() -> tuple[str, ...]:
    """Return the maintenance parameters (owner, schedule) as JSON."""
    return ("maintenance", "info", "--json")


def maintenance_owner(owner: str) -> tuple[str, ...]:
    """Return the command that makes ``owner`` (``user@host``) the maintenance owner."""
    return ("maintenance", "set", f"--owner={owner}")


def maintenance_run() -> tuple[str, ...]:
    """Return full maintenance (garbage collection and compaction); only the owner may run it."""
    return ("maintenance", "run", "--full")
