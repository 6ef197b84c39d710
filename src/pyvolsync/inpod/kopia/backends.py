"""Where the kopia repository is: ``kopia repository connect|create <kind> ...`` from the Secret.

The fork's Secret keys decide the kind, in the fork's order: S3 (``KOPIA_S3_BUCKET`` or an
``s3://bucket/prefix`` repository), Azure, GCS, a ``filesystem:///path`` repository, B2, WebDAV,
SFTP. ``backend_of`` is pure: it returns the storage arguments, and the environment variables
kopia reads credentials from, so that no key or password ends up on a command line except
SFTP's password (kopia has no variable for it; the log masks it). A GCS key given as JSON text
rather than a path is returned as a file for the session to write (mode 0600) in its own
directory.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping

from pyvolsync import contract
from pyvolsync.inpod import errors

Var = contract.KopiaEnvVar


@dataclasses.dataclass(frozen=True, kw_only=True)
class Backend:
    """One repository location: the storage arguments and what kopia needs in its environment."""

    kind: str
    arguments: tuple[str, ...]
    """``<kind> --flag=value ...``, to follow ``repository connect`` or ``repository create``."""
    environ: Mapping[str, str] = dataclasses.field(default_factory=dict)
    files: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Files to write before kopia runs: path -> content."""
    filesystem_path: str | None = None


def _value(environ: Mapping[str, str], *names: str) -> str:
    return next((environ[name].strip() for name in names if environ.get(name, "").strip()), "")


def _true(environ: Mapping[str, str], *names: str) -> bool:
    return _value(environ, *names).lower() in ("true", "1", "yes")


def _url_parts(repository: str, scheme: str) -> tuple[str, str]:
    """Return the bucket (or container) and the prefix of ``scheme://bucket/prefix``."""
    rest = repository[len(scheme) :] if repository.startswith(scheme) else ""
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix


def _prefix(prefix: str) -> tuple[str, ...]:
    """Return ``--prefix=dir/`` for a prefix (a trailing slash makes it a directory)."""
    cleaned = re.sub(r"/+", "/", prefix.strip("/"))
    if ".." in cleaned.split("/"):
        raise errors.ConfigurationError(f"{Var.REPOSITORY}: the prefix {prefix!r} contains '..'")
    return (f"--prefix={cleaned}/",) if cleaned else ()


def _required(value: str, what: str) -> str:
    if not value:
        raise errors.ConfigurationError(f"the repository Secret lacks {what}")
    return value


def filesystem(environ: Mapping[str, str], custom_ca: str | None) -> Backend:
    """``filesystem:///absolute/path``."""
    repository = _value(environ, Var.REPOSITORY)
    path = os.path.normpath(repository.removeprefix("filesystem://") or "/")
    if not repository.startswith("filesystem:///") or ".." in repository.split("/"):
        raise errors.ConfigurationError(
            f"{Var.REPOSITORY} must be filesystem:///<absolute path> for a filesystem repository"
        )
    return Backend(kind="filesystem", arguments=("filesystem", f"--path={path}"),
                   filesystem_path=path)  # fmt: skip


def _s3_endpoint(environ: Mapping[str, str]) -> tuple[tuple[str, ...], bool]:
    """Return the endpoint argument and whether the endpoint URL asked for plain HTTP."""
    endpoint = _value(environ, Var.S3_ENDPOINT, "AWS_S3_ENDPOINT")
    plain = endpoint.startswith("http://")
    host = endpoint.removeprefix("https://").removeprefix("http://").rstrip("/")
    return ((f"--endpoint={host}",) if host else ()), plain


def s3(environ: Mapping[str, str], custom_ca: str | None) -> Backend:
    """``s3://bucket/prefix`` or ``KOPIA_S3_BUCKET``; keys from ``AWS_*`` (kopia reads them)."""
    url_bucket, url_prefix = _url_parts(_value(environ, Var.REPOSITORY), "s3://")
    bucket = _required(_value(environ, Var.S3_BUCKET) or url_bucket, f"{Var.S3_BUCKET}")
    endpoint, plain = _s3_endpoint(environ)
    region = _value(environ, "AWS_REGION", "AWS_DEFAULT_REGION")
    arguments = (
        "s3",
        f"--bucket={bucket}",
        *_prefix(url_prefix),
        *endpoint,
        *((f"--region={region}",) if region else ()),
        *(("--disable-tls",) if plain or _true(environ, Var.S3_DISABLE_TLS, "AWS_S3_DISABLE_TLS")
          else ()),
        *((f"--root-ca-pem-path={custom_ca}",) if custom_ca else ()),
    )  # fmt: skip
    return Backend(kind="s3", arguments=arguments)


def azure(environ: Mapping[str, str], custom_ca: str | None) -> Backend:
    """``KOPIA_AZURE_CONTAINER`` with the account and key (given to kopia as ``AZURE_*``)."""
    container = _value(environ, Var.AZURE_CONTAINER)
    _, prefix = _url_parts(_value(environ, Var.REPOSITORY), "azure://")
    credentials = {
        "AZURE_STORAGE_ACCOUNT": _value(
            environ, Var.AZURE_STORAGE_ACCOUNT, "AZURE_STORAGE_ACCOUNT", "AZURE_ACCOUNT_NAME"
        ),
        "AZURE_STORAGE_KEY": _value(
            environ, Var.AZURE_STORAGE_KEY, "AZURE_STORAGE_KEY", "AZURE_ACCOUNT_KEY"
        ),
        "AZURE_STORAGE_SAS_TOKEN": _value(environ, "AZURE_STORAGE_SAS_TOKEN", "AZURE_ACCOUNT_SAS"),
    }
    return Backend(
        kind="azure",
        arguments=("azure", f"--container={container}", *_prefix(prefix)),
        environ={name: value for name, value in credentials.items() if value},
    )


GCS_CREDENTIALS_FILE = "gcs-credentials.json"


def gcs(environ: Mapping[str, str], custom_ca: str | None, scratch: str) -> Backend:
    """``KOPIA_GCS_BUCKET`` with ``GOOGLE_APPLICATION_CREDENTIALS`` (a path, or the JSON itself)."""
    url_bucket, prefix = _url_parts(_value(environ, Var.REPOSITORY), "gs://")
    bucket = _value(environ, Var.GCS_BUCKET, "GCS_BUCKET") or url_bucket
    credentials = _required(
        _value(environ, "GOOGLE_APPLICATION_CREDENTIALS"), "GOOGLE_APPLICATION_CREDENTIALS"
    )
    files: dict[str, str] = {}
    if credentials.startswith("{"):
        files[os.path.join(scratch, GCS_CREDENTIALS_FILE)] = credentials
        credentials = os.path.join(scratch, GCS_CREDENTIALS_FILE)
    arguments = ("gcs", f"--bucket={bucket}", *_prefix(prefix), f"--credentials-file={credentials}")
    return Backend(kind="gcs", arguments=arguments, files=files)


def b2(environ: Mapping[str, str], custom_ca: str | None) -> Backend:
    """``KOPIA_B2_BUCKET`` with ``B2_ACCOUNT_ID``/``B2_APPLICATION_KEY`` (kopia's ``B2_KEY*``)."""
    _, prefix = _url_parts(_value(environ, Var.REPOSITORY), "b2://")
    credentials = {
        "B2_KEY_ID": _value(environ, "B2_ACCOUNT_ID", "B2_KEY_ID"),
        "B2_KEY": _value(environ, "B2_APPLICATION_KEY", "B2_KEY"),
    }
    return Backend(
        kind="b2",
        arguments=("b2", f"--bucket={_value(environ, Var.B2_BUCKET)}", *_prefix(prefix)),
        environ={name: value for name, value in credentials.items() if value},
    )


def webdav(environ: Mapping[str, str], custom_ca: str | None) -> Backend:
    """``WEBDAV_URL`` with ``WEBDAV_USERNAME``/``WEBDAV_PASSWORD`` (kopia's ``KOPIA_WEBDAV_*``)."""
    credentials = {
        "KOPIA_WEBDAV_USERNAME": _value(environ, "WEBDAV_USERNAME"),
        "KOPIA_WEBDAV_PASSWORD": _value(environ, "WEBDAV_PASSWORD"),
    }
    return Backend(
        kind="webdav",
        arguments=("webdav", f"--url={_value(environ, 'WEBDAV_URL')}"),
        environ={name: value for name, value in credentials.items() if value},
    )


def sftp(environ: Mapping[str, str], custom_ca: str | None) -> Backend:
    """``SFTP_HOST`` and friends; a password or a key file, known hosts as a file or as data."""
    optional = {
        "--port": _value(environ, "SFTP_PORT"),
        "--sftp-password": _value(environ, "SFTP_PASSWORD"),
        "--keyfile": _value(environ, "SFTP_KEY_FILE"),
        "--known-hosts": _value(environ, "SFTP_KNOWN_HOSTS"),
        "--known-hosts-data": _value(environ, "SFTP_KNOWN_HOSTS_DATA"),
    }
    arguments = (
        "sftp",
        f"--host={_value(environ, 'SFTP_HOST')}",
        f"--username={_required(_value(environ, 'SFTP_USERNAME'), 'SFTP_USERNAME')}",
        f"--path={_required(_value(environ, 'SFTP_PATH'), 'SFTP_PATH')}",
        *(f"{flag}={value}" for flag, value in optional.items() if value),
    )
    return Backend(kind="sftp", arguments=arguments)


Builder = Callable[[Mapping[str, str], "str | None"], Backend]


def _kind(environ: Mapping[str, str]) -> str:
    """Return the repository kind the Secret describes, in the fork's order."""
    repository = _value(environ, Var.REPOSITORY)
    rules = (
        ("s3", bool(_value(environ, Var.S3_BUCKET)) or repository.startswith("s3://")),
        ("azure", bool(_value(environ, Var.AZURE_CONTAINER))),
        ("gcs", bool(_value(environ, Var.GCS_BUCKET, "GCS_BUCKET"))
         or repository.startswith("gs://")),
        ("filesystem", repository.startswith("filesystem://")),
        ("b2", bool(_value(environ, Var.B2_BUCKET))),
        ("webdav", bool(_value(environ, "WEBDAV_URL"))),
        ("sftp", bool(_value(environ, "SFTP_HOST"))),
    )  # fmt: skip
    kind = next((name for name, matches in rules if matches), "")
    if not kind:
        raise errors.ConfigurationError(
            f"no repository kind found: {Var.REPOSITORY} must be filesystem:///<path> or "
            f"s3://<bucket>[/<prefix>], or the repository Secret must name a bucket, container "
            f"or server ({Var.S3_BUCKET}, {Var.AZURE_CONTAINER}, {Var.GCS_BUCKET}, "
            f"{Var.B2_BUCKET}, WEBDAV_URL, SFTP_HOST)"
        )
    return kind


_BUILDERS: dict[str, Builder] = {
    "s3": s3,
    "azure": azure,
    "filesystem": filesystem,
    "b2": b2,
    "webdav": webdav,
    "sftp": sftp,
}


def backend_of(environ: Mapping[str, str], *, custom_ca: str | None, scratch: str) -> Backend:
    """Return the repository location the environment describes; ``scratch`` holds its files.

    Raise ConfigurationError naming the Secret key that is missing or malformed.
    """
    kind = _kind(environ)
    if kind == "gcs":
        return gcs(environ, custom_ca, scratch)
    return _BUILDERS[kind](environ, custom_ca)
