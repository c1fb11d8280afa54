"""From raw bytes to committed batches: the device directory and the batching ingestor.

Every channel (the MQTT worker, the HTTP endpoint, camera pushes) goes through :class:`Ingestor`:
it resolves the topic's community and device codes through an in-memory :class:`DeviceDirectory`
(one query for all devices, refreshed periodically and on a miss, so the hot path never asks the
database who a device is), validates the payload (:mod:`anju.devices.parsing`), and collects
messages and dead letters until :meth:`Ingestor.flush` commits them (:mod:`anju.devices.store`).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.utils import timezone

from anju.core.tenancy import scopes_disabled
from anju.devices import conf
from anju.devices.messages import Channel, DeviceMessage
from anju.devices.models import DeadLetter, Device
from anju.devices.parsing import Refused, build_message, decode_json, parse_topic
from anju.devices.store import BatchResult, commit_batch, ensure_streams

DEAD_PAYLOAD_LIMIT = 4000


@dataclass(frozen=True, slots=True)
class DeviceRef:
    id: int
    community_id: int
    community_code: str
    code: str
    kind: str


class DeviceDirectory:
    """Who a topic's ``<community>/<device>`` is, from memory. Reloaded every ``refresh_seconds``
    and, at most every ``miss_seconds``, when a topic names a device it does not know (so a newly
    registered device is recognised within seconds, and a flood of unknown topics costs one query
    per interval, not one per message)."""

    def __init__(self, *, refresh_seconds: float = 60.0, miss_seconds: float = 5.0) -> None:
        self.refresh_seconds = refresh_seconds
        self.miss_seconds = miss_seconds
        self._by_topic: dict[tuple[str, str], DeviceRef] = {}
        self._by_id: dict[int, DeviceRef] = {}
        self._loaded_at = -1e9

    def load(self) -> None:
        with scopes_disabled():
            rows = Device.objects.filter(retired_at__isnull=True).values_list(
                "pk", "community_id", "community__code", "code", "kind"
            )
            refs = [DeviceRef(*row) for row in rows]
        ensure_streams()
        self._by_topic = {(ref.community_code, ref.code): ref for ref in refs}
        self._by_id = {ref.id: ref for ref in refs}
        self._loaded_at = time.monotonic()

    def get(self, community_code: str, device_code: str) -> DeviceRef | None:
        now = time.monotonic()
        if now - self._loaded_at > self.refresh_seconds:
            self.load()
        ref = self._by_topic.get((community_code, device_code))
        if ref is None and now - self._loaded_at > self.miss_seconds:
            self.load()
            ref = self._by_topic.get((community_code, device_code))
        return ref

    def by_id(self, device_id: int) -> DeviceRef | None:
        ref = self._by_id.get(device_id)
        if ref is None and time.monotonic() - self._loaded_at > self.miss_seconds:
            self.load()
            ref = self._by_id.get(device_id)
        return ref


def _payload_text(payload: bytes | str) -> str:
    text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else payload
    return text[:DEAD_PAYLOAD_LIMIT].replace("\x00", "\ufffd")


class Ingestor:
    """Collects validated messages and dead letters; :meth:`flush` commits them as one batch."""

    def __init__(self, directory: DeviceDirectory | None = None, *, source: str = DeadLetter.Source.MQTT) -> None:
        self.directory = directory or DeviceDirectory()
        self.source = source
        self.max_age = conf.max_message_age()
        self.messages: list[DeviceMessage] = []
        self.dead: list[DeadLetter] = []

    def __len__(self) -> int:
        return len(self.messages) + len(self.dead)

    def refuse(
        self,
        topic: str,
        payload: bytes | str,
        reason: str,
        detail: str = "",
        *,
        ref: DeviceRef | None = None,
        received_at: dt.datetime | None = None,
    ) -> None:
        self.dead.append(
            DeadLetter(
                community_id=ref.community_id if ref else None,
                device_id=ref.id if ref else None,
                source=self.source,
                topic=topic[:300],
                payload=_payload_text(payload),
                reason=reason,
                detail=detail[:300],
                received_at=received_at or timezone.now(),
            )
        )

    def accept_mqtt(self, topic: str, payload: bytes, received_at: dt.datetime) -> DeviceMessage | None:
        """One MQTT message: the topic names the device (the broker's ACL vouches for it)."""
        try:
            parsed = parse_topic(topic)
        except Refused as refusal:
            self.refuse(topic, payload, refusal.reason, refusal.detail, received_at=received_at)
            return None
        ref = self.directory.get(parsed.community_code, parsed.device_code)
        if ref is None:
            self.refuse(topic, payload, "unknown_device", received_at=received_at)
            return None
        return self.accept_body(ref, parsed.channel, payload, received_at=received_at, topic=topic)

    def accept_body(
        self,
        ref: DeviceRef,
        channel: Channel,
        payload: bytes | str | dict[str, object],
        *,
        received_at: dt.datetime,
        topic: str,
        snapshot: str | None = None,
    ) -> DeviceMessage | None:
        """One payload of an identified device (raw JSON, or already decoded)."""
        try:
            body = payload if isinstance(payload, dict) else decode_json(payload)
            message = build_message(
                body,
                channel=channel,
                community_id=ref.community_id,
                device_id=ref.id,
                device_kind=ref.kind,
                received_at=received_at,
                max_age=self.max_age,
                snapshot=snapshot,
            )
        except Refused as refusal:
            raw = payload if not isinstance(payload, dict) else repr(payload)
            self.refuse(topic, raw, refusal.reason, refusal.detail, ref=ref, received_at=received_at)
            return None
        self.messages.append(message)
        return message

    def flush(self) -> BatchResult:
        messages, dead = self.messages, self.dead
        self.messages, self.dead = [], []
        if not messages and not dead:
            return BatchResult()
        return commit_batch(messages, dead)
