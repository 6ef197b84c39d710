"""Notifications: tell people once when backups break, recover or look wrong, in one message.

The reconciler hands over a ``Notice`` at each change of state of an object: its first failed
sync after a success (not each retry, nor each later failure), the first success after failures,
a backup the anomaly guard found suspicious. The ``Notifier`` waits until no new notice came for
``quiet`` seconds (at most ``LONGEST_WAIT``) and sends what it gathered as one message: one
notice reads as itself, many as a digest, so an NFS outage that fails 200 sources sends one
message naming them all, not 200.

Targets are Apprise URLs (``ntfy://``, ``discord://``, ``slack://``, ``gotify://``, ``pover://``,
``matrix://``, ``json://`` for any URL as JSON, ...), one per key of a Secret the operator reads
before each delivery, so the tokens in them are never in the operator's arguments and an edit
applies without a restart. Apprise (a well-kept library) speaks each service's protocol. A
delivery runs on its own task, off the reconciles: a target that is down or answers 500 is
tried again with backoff and then reported (a Warning event on the Secret, a metric), and never
holds up a backup.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import enum
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import apprise
import tenacity

from pyvolsync.controller import metrics as metrics_module
from pyvolsync.kube import client as kube_client

logger = logging.getLogger(__name__)

LONGEST_WAIT = 300.0
"""Seconds a notice waits at most for others to join its message."""
DELIVERY_ATTEMPTS = 5
REASON_FAILED = "NotificationFailed"


class Change(enum.StrEnum):
    """What happened to an object."""

    FAILED = "failed"
    RECOVERED = "recovered"
    SUSPICIOUS = "suspicious"
    DRILL_FAILED = "drill-failed"


HEADINGS = {
    Change.FAILED: "failing",
    Change.RECOVERED: "recovered",
    Change.SUSPICIOUS: "suspicious backup (retention held)",
    Change.DRILL_FAILED: "restore drill failed",
}
NOTIFY_TYPES = {
    Change.FAILED: apprise.NotifyType.FAILURE,
    Change.RECOVERED: apprise.NotifyType.SUCCESS,
    Change.SUSPICIOUS: apprise.NotifyType.WARNING,
    Change.DRILL_FAILED: apprise.NotifyType.FAILURE,
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Notice:
    """One change of one object: ``what`` is ``ReplicationSource apps/nextcloud``."""

    change: Change
    what: str
    detail: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Message:
    """What a target receives."""

    title: str
    body: str
    notify_type: str


def compose(notices: Sequence[Notice]) -> Message:
    """Return the message for ``notices``: one notice as itself, several as a digest."""
    if len(notices) == 1:
        [notice] = notices
        return Message(
            title=f"pyvolsync: {notice.what} {HEADINGS[notice.change]}",
            body=notice.detail,
            notify_type=NOTIFY_TYPES[notice.change],
        )
    counts = {change: [item for item in notices if item.change is change] for change in Change}
    parts = [f"{len(items)} {HEADINGS[change]}" for change, items in counts.items() if items]
    lines = [
        f"{HEADINGS[change]}:\n" + "\n".join(f"- {item.what}: {item.detail}" for item in items)
        for change, items in counts.items()
        if items
    ]
    worst = next(change for change in Change if counts[change])
    return Message(
        title=f"pyvolsync: {', '.join(parts)}",
        body="\n\n".join(lines),
        notify_type=NOTIFY_TYPES[worst],
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SecretRef:
    """The Secret whose keys are the targets: ``namespace/name``."""

    namespace: str
    name: str

    @classmethod
    def parse(cls, text: str) -> SecretRef:
        """Parse ``namespace/name``; raise ValueError otherwise."""
        namespace, _, name = text.partition("/")
        if not namespace or not name or "/" in name:
            raise ValueError(f"{text!r} is not NAMESPACE/NAME of a Secret")
        return cls(namespace=namespace, name=name)


class DeliveryError(Exception):
    """A target did not take the message; the text says what Apprise reported."""


def send(url: str, message: Message) -> None:
    """Send ``message`` to the Apprise ``url`` (blocking); raise DeliveryError on failure."""
    sender = apprise.Apprise()
    if not sender.add(url):
        raise DeliveryError("not a notification URL Apprise knows")
    said = _Said()
    apprise_logger = logging.getLogger("apprise")
    apprise_logger.addHandler(said)
    try:
        delivered = sender.notify(
            body=message.body, title=message.title, notify_type=message.notify_type
        )
    finally:
        apprise_logger.removeHandler(said)
    if not delivered:
        raise DeliveryError(" ".join(said.lines)[-300:] or "the service refused the message")


class _Said(logging.Handler):
    """Keeps what Apprise warned about while it sent one message (why it failed)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(" ".join(record.getMessage().split()))


Sender = Callable[[str, Message], None]


class Notifier:
    """Gathers notices and delivers them to the Secret's targets, off the reconcile path."""

    def __init__(
        self,
        kube: kube_client.Kube,
        secret: SecretRef,
        *,
        metrics: metrics_module.Metrics,
        quiet: float = 30.0,
        sender: Sender = send,
        retry_wait: tenacity.wait.wait_base | None = None,
    ) -> None:
        self.kube = kube
        self.secret = secret
        self.metrics = metrics
        self.quiet = quiet
        self.sender = sender
        self.retry_wait = retry_wait or tenacity.wait_exponential(multiplier=2, max=60)
        self._queue: asyncio.Queue[Notice] = asyncio.Queue()

    def tell(self, notice: Notice) -> None:
        """Queue ``notice`` (never blocks)."""
        logger.info("notice: %s %s", notice.what, notice.change)
        self._queue.put_nowait(notice)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver gathered notices until ``stop`` is set."""
        while not stop.is_set():
            batch = await self._gather(stop)
            if batch:
                await self.deliver(compose(batch))

    async def _gather(self, stop: asyncio.Event) -> list[Notice]:
        """Wait for a notice, then for more until ``quiet`` passes without one."""
        stopping = asyncio.ensure_future(stop.wait())
        try:
            first = asyncio.ensure_future(self._queue.get())
            await asyncio.wait((first, stopping), return_when=asyncio.FIRST_COMPLETED)
            if not first.done():
                first.cancel()
                return []
            batch = [first.result()]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + LONGEST_WAIT
            while (left := min(self.quiet, deadline - loop.time())) > 0:
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), left))
                except TimeoutError:
                    break
            return batch
        finally:
            stopping.cancel()

    async def deliver(self, message: Message) -> None:
        """Send ``message`` to every target, each tried again with backoff; report failures."""
        secret, targets = await self._targets()
        for target, url in targets.items():
            try:
                await self._send_retrying(url, message)
                self.metrics.notifications.labels(target, "sent").inc()
            except DeliveryError as error:
                self.metrics.notifications.labels(target, "failed").inc()
                note = f"notification to target {target!r} failed after retries: {error}"
                logger.warning("%s", note)
                if secret is not None:
                    await self.kube.event(
                        secret, type_="Warning", reason=REASON_FAILED, action="Notify", note=note
                    )

    async def _send_retrying(self, url: str, message: Message) -> None:
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(DELIVERY_ATTEMPTS),
            wait=self.retry_wait,
            retry=tenacity.retry_if_exception(
                lambda error: (
                    isinstance(error, DeliveryError) and "not a notification URL" not in str(error)
                )
            ),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await asyncio.to_thread(self.sender, url, message)

    async def _targets(self) -> tuple[Mapping[str, Any] | None, dict[str, str]]:
        """Return the Secret and its targets (key -> URL); a missing Secret has none."""
        found = await self.kube.get(
            kube_client.Kind.SECRET, self.secret.name, namespace=self.secret.namespace
        )
        if found is None:
            logger.warning(
                "notification Secret %s/%s does not exist: nothing was sent",
                self.secret.namespace,
                self.secret.name,
            )
            return None, {}
        return found, _decoded(found.get("data") or {})


def _decoded(data: Mapping[str, str]) -> dict[str, str]:
    targets = {}
    for key, value in sorted(data.items()):
        try:
            targets[key] = base64.b64decode(value).decode().strip()
        except (binascii.Error, UnicodeDecodeError):
            logger.warning("notification target %r is not UTF-8 text; skipped", key)
    return targets


NoticeSink = Callable[[Notice], None]
"""Where the reconciler hands notices (``Notifier.tell``, or nothing)."""


def ignore(notice: Notice) -> None:
    """The sink of an operator with no notification targets."""
