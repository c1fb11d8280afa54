"""Which rules apply to a device right now: built-in template < community template < device override.

Rule rows are append-only: a change inserts a new version and closes the old one; removing a
device's override only closes it. So the pair (highest rule id, number of current rows) of a
community changes whenever one of its rules does. :func:`rulebooks_for` keeps each community's book
in memory and reloads it only when that pair moved: a batch of messages costs one aggregate query
for all its communities, not a rule query per message.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q

from anju.core.tenancy import scopes_disabled
from anju.devices.alarms.catalogue import builtin_rules
from anju.devices.alarms.models import Rule
from anju.devices.alarms.rules import EVALUATORS, Evaluator, RuleSpec


def spec_of(rule: Rule) -> RuleSpec:
    builtin = {spec.key: spec for spec in builtin_rules(rule.device_kind)}.get(rule.key)
    channels = builtin.channels if builtin is not None else ("telemetry",)
    return RuleSpec(
        key=rule.key,
        kind=rule.kind,
        alarm_type=rule.alarm_type,
        severity=rule.severity,
        params=rule.params,
        suppressible=rule.suppressible,
        enabled=rule.enabled,
        version=rule.version,
        channels=channels,
    )


@dataclass
class DeviceRules:
    """The effective rules of one device, grouped by the channel they listen to."""

    specs: list[RuleSpec]
    by_channel: dict[str, list[tuple[RuleSpec, Evaluator]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for spec in self.specs:
            if not spec.enabled:
                continue
            for channel in spec.channels:
                self.by_channel.setdefault(channel, []).append((spec, EVALUATORS[spec.kind]))

    def spec(self, key: str) -> RuleSpec | None:
        return next((spec for spec in self.specs if spec.key == key), None)


@dataclass
class RuleBook:
    """One community's current rule rows, by device kind (templates) and by device (overrides)."""

    community_id: int
    signature: tuple[int, int]
    templates: dict[tuple[str, str], RuleSpec]
    overrides: dict[int, dict[str, RuleSpec]]
    _cache: dict[tuple[str, int | None], DeviceRules] = field(default_factory=dict)

    def rules_for(self, device_kind: str, device_id: int | None = None) -> DeviceRules:
        key = (device_kind, device_id if device_id in self.overrides else None)
        cached = self._cache.get(key)
        if cached is None:
            merged: dict[str, RuleSpec] = {spec.key: spec for spec in builtin_rules(device_kind)}
            for (kind, rule_key), spec in self.templates.items():
                if kind == device_kind:
                    merged[rule_key] = spec
            if key[1] is not None:
                merged.update(self.overrides[key[1]])
            cached = DeviceRules(list(merged.values()))
            self._cache[key] = cached
        return cached


_BOOKS: dict[int, RuleBook] = {}
_LOCK = threading.Lock()


def _load(community_id: int, signature: tuple[int, int]) -> RuleBook:
    templates: dict[tuple[str, str], RuleSpec] = {}
    overrides: dict[int, dict[str, RuleSpec]] = {}
    rows = Rule.objects.filter(community_id=community_id, effective_to__isnull=True)
    for rule in rows:
        if rule.device_id is None:
            templates[(rule.device_kind, rule.key)] = spec_of(rule)
        else:
            overrides.setdefault(rule.device_id, {})[rule.key] = spec_of(rule)
    return RuleBook(community_id, signature, templates, overrides)


def rulebooks_for(community_ids: Iterable[int]) -> dict[int, RuleBook]:
    """Current books for these communities, reloading only those whose rules changed."""
    ids = sorted(set(community_ids))
    with scopes_disabled():
        rows = (
            Rule.objects.filter(community_id__in=ids)
            .values_list("community_id")
            .annotate(top=Max("id"), current=Count("id", filter=Q(effective_to__isnull=True)))
            .order_by()
        )
        latest = {community_id: (top, current) for community_id, top, current in rows}
        books: dict[int, RuleBook] = {}
        for community_id in ids:
            signature = latest.get(community_id, (0, 0))
            book = _BOOKS.get(community_id)
            if book is None or book.signature != signature:
                book = _load(community_id, signature)
                with _LOCK:
                    _BOOKS[community_id] = book
            books[community_id] = book
    return books


def rules_for_device(community_id: int, device_kind: str, device_id: int | None) -> DeviceRules:
    return rulebooks_for([community_id])[community_id].rules_for(device_kind, device_id)
