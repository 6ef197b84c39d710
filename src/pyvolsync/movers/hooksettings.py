"""App hooks: what a source asks to run before and after each backup, read from its annotations.

A database copied mid-write restores as a database that will not open. A hook makes the copy
consistent: before the backup, ``sqlite3 app.db ".backup app.db.bak"`` or ``pg_dump`` in the
app's own pod (Kubernetes exec), a Job of the user's image, or a call to a URL; after the
backup (also when it failed) the same kinds, e.g. to resume what the first one paused.

The settings are annotations on the ReplicationSource, like the drills' and the guard's
(docs/api.md, "Where pyvolsync's own settings live"): upstream VolSync's CRDs would refuse an
unknown spec field, while an annotation is carried, and ignored, by any cluster. Per moment
(``before-backup`` or ``after-backup``), the keys are ``-command``, ``-container``, ``-pod``,
``-image``, ``-service-account``, ``-url``, ``-timeout`` and ``-on-error``. The kind follows
from what is given: a URL is called; an image runs as a Job; a command alone runs in the app's
pod. No I/O here: a malformed setting becomes a ``problem`` naming the annotation.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
from collections.abc import Mapping
from typing import Any

from pyvolsync.api import durations

PREFIX = "pyvolsync.dev/"
KEYS = (
    "command",
    "container",
    "pod",
    "image",
    "service-account",
    "url",
    "timeout",
    "on-error",
)
DEFAULT_TIMEOUT = datetime.timedelta(minutes=2)
LONGEST_TIMEOUT = datetime.timedelta(hours=2)
HOOK_JOB_PREFIX = "volsync-hook-"
"""A Job hook's Job is ``volsync-hook-<source name>`` (one hook runs at a time per source)."""


class Moment(enum.StrEnum):
    """When a hook runs."""

    BEFORE = "before-backup"
    AFTER = "after-backup"


class Kind(enum.StrEnum):
    """How a hook runs."""

    EXEC = "exec"
    """The command runs in a container of the app's running pod (the pods/exec subresource)."""
    JOB = "job"
    """The command runs in a Job of the given image, in the source's namespace."""
    URL = "url"
    """The URL gets a POST with a JSON body naming the source and the moment."""


class OnError(enum.StrEnum):
    """What a failed hook does to the backup."""

    FAIL = "fail"
    """The backup is not taken and the sync fails (before-backup hooks only)."""
    CONTINUE = "continue"
    """A warning is recorded and the backup goes on."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Hook:
    """One hook, as its annotations give it."""

    moment: Moment
    kind: Kind
    command: tuple[str, ...] = ()
    container: str = ""
    pod_selector: tuple[tuple[str, str], ...] = ()
    """Labels the app's pod has (``app=db,tier=data``); none: the running pod mounting the PVC."""
    image: str = ""
    service_account: str = ""
    url: str = ""
    timeout: datetime.timedelta = DEFAULT_TIMEOUT
    on_error: OnError = OnError.FAIL

    @property
    def title(self) -> str:
        """Return how messages name the hook: ``before-backup hook (exec)``."""
        return f"{self.moment} hook ({self.kind})"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """The hooks a source asks for; ``problem`` says what was wrong (those hooks are left out)."""

    before: Hook | None = None
    after: Hook | None = None
    problem: str = ""

    def hook(self, moment: Moment) -> Hook | None:
        """Return the hook of ``moment``, if any."""
        return self.before if moment is Moment.BEFORE else self.after


def annotation(moment: Moment, key: str) -> str:
    """Return the annotation of ``key`` for ``moment``: ``pyvolsync.dev/before-backup-command``."""
    return f"{PREFIX}{moment}-{key}"


def settings_of(obj: Mapping[str, Any]) -> Settings:
    """Return the hooks ``obj`` asks for; a malformed hook is left out and named in ``problem``."""
    found = (obj.get("metadata") or {}).get("annotations") or {}
    hooks: dict[Moment, Hook | None] = {}
    problems: list[str] = []
    for moment in Moment:
        hook, wrong = _hook(moment, found)
        hooks[moment] = hook
        problems += wrong
    return Settings(
        before=hooks[Moment.BEFORE], after=hooks[Moment.AFTER], problem="; ".join(problems)
    )


def _hook(moment: Moment, found: Mapping[str, str]) -> tuple[Hook | None, list[str]]:
    values = {key: found.get(annotation(moment, key), "").strip() for key in KEYS}
    problems = [
        f"{key}: not a hook setting (known: {', '.join(annotation(moment, k) for k in KEYS)})"
        for key in found
        if key.startswith(f"{PREFIX}{moment}-")
        and key.removeprefix(f"{PREFIX}{moment}-") not in KEYS
    ]
    if not (values["command"] or values["image"] or values["url"]):
        if any(values.values()):
            problems.append(
                f"{annotation(moment, 'command')}, {annotation(moment, 'image')} or "
                f"{annotation(moment, 'url')}: one of them says what the hook runs; none is given"
            )
        return None, problems
    kind = _kind(moment, values, problems)
    command = _command(moment, values["command"], problems)
    timeout = _timeout(moment, values["timeout"], problems)
    on_error = _on_error(moment, values["on-error"], problems)
    selector = _selector(moment, values["pod"], problems)
    if problems or kind is None:
        return None, problems
    return Hook(
        moment=moment,
        kind=kind,
        command=command,
        container=values["container"],
        pod_selector=selector,
        image=values["image"],
        service_account=values["service-account"],
        url=values["url"],
        timeout=timeout,
        on_error=on_error,
    ), []


REFUSED = {
    Kind.URL: ("command", "image", "container", "pod", "service-account"),
    Kind.JOB: ("container", "pod"),
    Kind.EXEC: ("service-account",),
}
"""What each kind of hook has no use for (given, it is a mistake worth naming)."""


def _kind(moment: Moment, values: Mapping[str, str], problems: list[str]) -> Kind | None:
    kind = Kind.URL if values["url"] else Kind.JOB if values["image"] else Kind.EXEC
    extra = [annotation(moment, key) for key in REFUSED[kind] if values[key]]
    if extra:
        problems.append(f"a {kind} hook takes no {', '.join(extra)}")
        return None
    if kind is Kind.URL and not values["url"].startswith(("http://", "https://")):
        problems.append(f"{annotation(moment, 'url')}: {values['url']!r} is not an http(s) URL")
        return None
    return kind


def _command(moment: Moment, text: str, problems: list[str]) -> tuple[str, ...]:
    """A JSON list is the argument vector; any other text runs under ``/bin/sh -c``."""
    if not text:
        return ()
    if not text.startswith("["):
        return ("/bin/sh", "-c", text)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        problems.append(f"{annotation(moment, 'command')}: not a JSON list of strings ({error})")
        return ()
    if not parsed or not all(isinstance(item, str) for item in parsed):
        problems.append(f"{annotation(moment, 'command')}: not a non-empty JSON list of strings")
        return ()
    return tuple(parsed)


def _selector(moment: Moment, text: str, problems: list[str]) -> tuple[tuple[str, str], ...]:
    """Return the labels of ``app=db,tier=data`` (equality only, as a Service's selector)."""
    pairs = [item.strip().partition("=") for item in text.split(",") if item.strip()]
    wrong = [key for key, sign, value in pairs if not (key.strip() and sign and value.strip())]
    if wrong:
        problems.append(
            f"{annotation(moment, 'pod')}: {text!r} is not a list of labels "
            "such as app=db,tier=data"
        )
        return ()
    return tuple((key.strip(), value.strip()) for key, _, value in pairs)


def _timeout(moment: Moment, text: str, problems: list[str]) -> datetime.timedelta:
    if not text:
        return DEFAULT_TIMEOUT
    try:
        parsed = durations.parse_duration(text)
    except ValueError:
        parsed = datetime.timedelta(0)
    if not datetime.timedelta(0) < parsed <= LONGEST_TIMEOUT:
        problems.append(
            f"{annotation(moment, 'timeout')}: {text!r} is not a duration between 1s and 2h "
            "such as 30s or 5m"
        )
    return parsed


def _on_error(moment: Moment, text: str, problems: list[str]) -> OnError:
    if not text:
        return OnError.FAIL if moment is Moment.BEFORE else OnError.CONTINUE
    try:
        policy = OnError(text.lower())
    except ValueError:
        problems.append(f"{annotation(moment, 'on-error')}: {text!r} is not fail or continue")
        return OnError.CONTINUE
    if moment is Moment.AFTER and policy is OnError.FAIL:
        problems.append(
            f"{annotation(moment, 'on-error')}: an after-backup hook cannot fail the backup "
            "(its snapshot is saved); a failed after hook is reported, so use continue"
        )
    return policy


def hook_job_name(source_name: str) -> str:
    """Return the name of a Job hook's Job (a Job name has at most 63 characters)."""
    return f"{HOOK_JOB_PREFIX}{source_name}"[:63].rstrip("-")
