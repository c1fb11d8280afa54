"""A door controller's offline logic: the reference the firmware follows, and the simulator's engine.

It keeps what the last sync (:mod:`anju.access.sync`) gave it — its doors, the community's public
keys, the card secret, the allow-list (credential key -> door id -> :class:`~anju.access.rules.Grant`)
and the revocation list — and decides without the network:

* a card, plate or face: look the credential key up in the allow-list and run
  :meth:`Grant.check` — the same code the server's online :func:`~anju.access.rules.decide` ends in;
* a visitor pass or resident QR token: check the Ed25519 signature with the key named in the token
  (:func:`anju.access.tokens.verify`), the time window, the revocation list and, for passes, the
  uses counted here; then the pass's door scope through :func:`~anju.access.rules.grant_for`, the
  same rule the server applies, fed with the scope the token carries.

Every decision becomes an event with a per-controller sequence number; the controller uploads them
in batches and the server stores each (controller, event id) once, however often it is re-sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from anju.access import tokens
from anju.access.rules import DoorFacts, Grant, HolderFacts, HolderKind, Method, Place, Window, grant_for


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: str
    method: str
    key: str = ""
    pass_id: int | None = None


@dataclass
class OfflineController:
    community_id: int
    version: int = 0
    doors: dict[int, DoorFacts] = field(default_factory=dict)
    keys: dict[int, Ed25519PublicKey] = field(default_factory=dict)
    card_secret: str = ""
    allow: dict[str, dict[int, Grant]] = field(default_factory=dict)
    revoked: dict[tuple[str, int], int] = field(default_factory=dict)
    uses: dict[int, int] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    next_event_id: int = 1

    # --- Sync ----------------------------------------------------------------------------------------

    def apply(self, payload: dict[str, Any]) -> None:
        """Take in one sync answer: a full snapshot replaces everything, a delta patches."""
        if payload["full"]:
            self.allow = {}
            self.revoked = {}
        self.doors = {
            d["id"]: DoorFacts(d["id"], d["kind"], d.get("building_id"), d.get("unit_id"), d.get("floor"))
            for d in payload["doors"]
        }
        self.keys = {k["kid"]: tokens.load_public_key(k["public_key"]) for k in payload["keys"]}
        self.card_secret = payload["card_secret"]
        for key in payload.get("remove", ()):
            self.allow.pop(key, None)
        for entry in payload.get("allow", ()):
            self.allow[entry["key"]] = {int(door): Grant.from_wire(g) for door, g in entry["doors"].items()}
        for item in payload.get("revoked", ()):
            self.revoked[(item["kind"], item["id"])] = item["until"]
        for kind, subject in payload.get("unrevoked", ()):
            self.revoked.pop((kind, subject), None)
        self.version = payload["version"]

    def forget_expired(self, now: int) -> None:
        """Revocations of passes that have expired anyway are dropped (the list stays small)."""
        self.revoked = {k: until for k, until in self.revoked.items() if until > now}

    # --- Decisions -----------------------------------------------------------------------------------

    def _check_key(self, key: str, door_id: int, at: int, method: str) -> Verdict:
        grants = self.allow.get(key)
        if grants is None:
            return Verdict(False, "unknown_credential", method, key)
        grant = grants.get(door_id)
        if grant is None:
            return Verdict(False, "no_right", method, key)
        reason = grant.check(at)
        return Verdict(reason == "ok", str(reason), method, key)

    def present_card(self, uid: str, door_id: int, at: int) -> Verdict:
        return self._record(door_id, at, self._check_key(tokens.card_key(self.card_secret, uid), door_id, at, "card"))

    def present_plate(self, plate: str, door_id: int, at: int) -> Verdict:
        key = "plate:" + tokens.normalize_plate(plate)
        return self._record(door_id, at, self._check_key(key, door_id, at, "plate"))

    def present_face(self, template_ref: str, door_id: int, at: int) -> Verdict:
        return self._record(door_id, at, self._check_key("face:" + template_ref, door_id, at, "face"))

    def verify_token(self, token: str, door_id: int, at: int) -> Verdict:
        """The offline verdict on a scanned QR token, without recording an event or counting a use."""
        try:
            claims = tokens.verify(token, self.keys)
        except tokens.TokenError as exc:
            return Verdict(False, exc.code, "pass")
        if claims.community_id != self.community_id:
            return Verdict(False, "wrong_community", "pass")
        if claims.kind == tokens.KIND_RESIDENT_QR:
            if ("qr", claims.subject_id) in self.revoked:
                return Verdict(False, "revoked", "qr", f"qr:{claims.subject_id}")
            if not claims.not_before <= at < claims.not_after:
                return Verdict(False, "expired", "qr", f"qr:{claims.subject_id}")
            return self._check_key(f"qr:{claims.subject_id}", door_id, at, "qr")
        pass_id = claims.subject_id
        if at < claims.not_before:
            return Verdict(False, "not_yet_valid", "pass", pass_id=pass_id)
        if at >= claims.not_after:
            return Verdict(False, "expired", "pass", pass_id=pass_id)
        if ("pass", pass_id) in self.revoked:
            return Verdict(False, "revoked", "pass", pass_id=pass_id)
        if claims.max_uses and self.uses.get(pass_id, 0) >= claims.max_uses:
            return Verdict(False, "used_up", "pass", pass_id=pass_id)
        door = self.doors.get(door_id)
        if door is None:
            return Verdict(False, "unknown_door", "pass", pass_id=pass_id)
        grant = grant_for(pass_holder(claims), door)
        if grant is None:
            return Verdict(False, "no_right", "pass", pass_id=pass_id)
        reason = grant.check(at)
        return Verdict(reason == "ok", str(reason), "pass", pass_id=pass_id)

    def present_token(self, token: str, door_id: int, at: int) -> Verdict:
        verdict = self.verify_token(token, door_id, at)
        if verdict.allowed and verdict.pass_id is not None:
            self.uses[verdict.pass_id] = self.uses.get(verdict.pass_id, 0) + 1
        return self._record(door_id, at, verdict)

    def door_forced(self, door_id: int, at: int) -> None:
        self.events.append({"id": self._next_id(), "door_id": door_id, "at": at, "result": "forced"})

    # --- Events --------------------------------------------------------------------------------------

    def _next_id(self) -> int:
        event_id = self.next_event_id
        self.next_event_id += 1
        return event_id

    def _record(self, door_id: int, at: int, verdict: Verdict) -> Verdict:
        event: dict[str, Any] = {
            "id": self._next_id(),
            "door_id": door_id,
            "at": at,
            "result": "granted" if verdict.allowed else "denied",
            "method": verdict.method,
            "reason": verdict.reason,
        }
        if verdict.key:
            event["key"] = verdict.key
        if verdict.pass_id is not None:
            event["pass_id"] = verdict.pass_id
        self.events.append(event)
        return verdict

    def take_events(self, limit: int = 500) -> list[dict[str, Any]]:
        """The oldest pending events; they stay pending until :meth:`acknowledge`."""
        return list(self.events[:limit])

    def acknowledge(self, up_to_id: int) -> None:
        self.events = [e for e in self.events if e["id"] > up_to_id]


def pass_holder(claims: tokens.TokenClaims) -> HolderFacts:
    """The rule's view of a visitor pass, from the claims its token carries (offline) — the server
    builds the same facts from the stored pass (:func:`anju.access.facts.pass_facts`)."""
    return HolderFacts(
        kind=HolderKind.VISITOR,
        method=Method.PASS,
        places=(
            Place(
                claims.building_id or None,
                claims.unit_id or None,
                claims.floor,
                Window(claims.not_before, claims.not_after),
            ),
        ),
        has_plate=claims.has_plate,
    )
