"""Visitor passes verified offline: every kind of bad pass refused, key rotation, the guard desk."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anju.access import services, signing, sync, tokens
from anju.access.controller import OfflineController
from anju.access.models import AccessEvent, Revocation, SigningKey, VisitorPass
from anju.access.passes import verify_at_desk
from anju.core.errors import Conflict, DomainError
from anju.core.tenancy import community_scope
from tests.personas import World

from .conftest import Doors, synced_controller

pytestmark = pytest.mark.django_db


def invite(world: World, *, hours: float = 4, starts_in: float = 0, uses: int = 2, plate: str = "") -> VisitorPass:
    now = timezone.now()
    estate = world.a
    return services.create_visitor_pass(
        host_person=estate.people[0],
        host_home=estate.homes[0],
        valid_from=now + dt.timedelta(hours=starts_in),
        valid_until=now + dt.timedelta(hours=starts_in + hours),
        max_uses=uses,
        visitor_name="王阿姨",
        visitor_phone="13812345678",
        plate=plate,
        actor=world.user("resident_a"),
    )


def token_of(visitor_pass: VisitorPass) -> str:
    with community_scope(visitor_pass.community_id):
        return signing.pass_token(visitor_pass)


def now_ts(delta_minutes: float = 0) -> int:
    return int((timezone.now() + dt.timedelta(minutes=delta_minutes)).timestamp())


def test_a_valid_pass_opens_its_scope_offline_and_nothing_else(world: World, doors: Doors) -> None:
    visitor_pass = invite(world)
    controller = synced_controller(doors)
    token = token_of(visitor_pass)
    assert token.startswith("AJ") and token.isalnum() and token.isupper()
    assert controller.present_token(token, doors.gate.pk, now_ts()).allowed
    assert controller.verify_token(token, doors.unit_door.pk, now_ts()).allowed
    refused = controller.verify_token(token, doors.other_entrance.pk, now_ts())
    assert (refused.allowed, refused.reason) == (False, "no_right")
    assert controller.verify_token(token, doors.garage.pk, now_ts()).reason == "no_right"  # no plate named
    # The visitor's mobile is stored sealed and shown masked.
    assert visitor_pass.visitor_phone_masked == "138****5678"
    assert "13812345678" not in visitor_pass.visitor_phone_encrypted


def test_every_kind_of_bad_pass_is_refused_offline(world: World, doors: Doors) -> None:
    good = invite(world, uses=1)
    later = invite(world, starts_in=2)
    controller = synced_controller(doors)
    gate = doors.gate.pk
    token = token_of(good)

    # Expired and not yet valid.
    assert controller.verify_token(token, gate, now_ts(5 * 60)).reason == "expired"
    assert controller.verify_token(token_of(later), gate, now_ts()).reason == "not_yet_valid"

    # Forged: a changed body (a longer window) or a changed signature no longer verifies.
    claims, body, signature = tokens.decode(token)
    longer = _replace(claims, not_after=claims.not_after + 86400, max_uses=99)
    forged_body = tokens.encode(longer.body() + signature)
    assert controller.verify_token(forged_body, gate, now_ts()).reason == "forged"
    flipped = bytearray(signature)
    flipped[0] ^= 1
    forged_sig = tokens.encode(body + bytes(flipped))
    assert controller.verify_token(forged_sig, gate, now_ts()).reason == "forged"

    # Signed by a key the community never had.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    stranger = tokens.sign(claims, Ed25519PrivateKey.generate())
    assert controller.verify_token(stranger, gate, now_ts()).reason == "forged"
    unknown = tokens.sign(_replace(claims, kid=claims.kid ^ 0x5A5A), Ed25519PrivateKey.generate())
    assert controller.verify_token(unknown, gate, now_ts()).reason == "unknown_key"

    # Malformed, and another community's pass.
    assert controller.verify_token("AJ" + "A" * 40, gate, now_ts()).reason == "malformed"
    assert controller.verify_token("hello", gate, now_ts()).reason == "malformed"
    other = OfflineController(community_id=world.b.community.pk, keys=controller.keys, doors=controller.doors)
    assert other.verify_token(token, gate, now_ts()).reason == "wrong_community"

    # Replayed beyond its uses: one entry allowed, the second refused by the controller's own count.
    assert controller.present_token(token, gate, now_ts()).allowed
    assert controller.present_token(token, gate, now_ts()).reason == "used_up"

    # Revoked: refused once the controller has synced the revocation list.
    revoked = invite(world)
    revoked_token = token_of(revoked)
    assert controller.verify_token(revoked_token, gate, now_ts()).allowed
    services.revoke_visitor_pass(revoked, actor=world.user("resident_a"))
    with community_scope(world.a.community.pk):
        controller.apply(sync.payload_for(doors.controller, controller.version))
    assert controller.verify_token(revoked_token, gate, now_ts()).reason == "revoked"


def _replace(claims: tokens.TokenClaims, **changes: int) -> tokens.TokenClaims:
    import dataclasses

    return dataclasses.replace(claims, **changes)


def test_uses_are_reconciled_across_controllers_on_upload(world: World, doors: Doors) -> None:
    visitor_pass = invite(world, uses=2)
    token = token_of(visitor_pass)
    first, second = synced_controller(doors), synced_controller(doors)
    assert first.present_token(token, doors.gate.pk, now_ts()).allowed
    assert second.present_token(token, doors.gate.pk, now_ts()).allowed
    services.ingest_events(doors.controller, first.take_events())
    # The second controller numbers its events on its own; give it a distinct id range.
    batch = [{**event, "id": event["id"] + 1000} for event in second.take_events()]
    services.ingest_events(doors.controller, batch)
    with community_scope(world.a.community.pk):
        visitor_pass.refresh_from_db()
        assert visitor_pass.uses == 2
        assert Revocation.objects.filter(subject="pass", subject_id=visitor_pass.pk, reason="used_up").exists()
        third = synced_controller(doors)
    assert third.verify_token(token, doors.gate.pk, now_ts()).reason == "revoked"


def test_key_rotation_keeps_old_passes_valid_until_they_expire(world: World, doors: Doors) -> None:
    old_pass = invite(world, hours=6)
    old_token = token_of(old_pass)
    new_key = services.rotate_signing_key(community=world.a.community, actor=world.user("manager_x"))
    new_pass = invite(world)
    assert new_pass.key_id == new_key.pk != old_pass.key_id
    assert tokens.decode(token_of(new_pass))[0].kid == new_key.kid
    controller = synced_controller(doors)
    assert len(controller.keys) == 2
    assert controller.verify_token(old_token, doors.gate.pk, now_ts()).allowed
    assert controller.verify_token(token_of(new_pass), doors.gate.pk, now_ts()).allowed
    with community_scope(world.a.community.pk):
        old_key = SigningKey.objects.get(pk=old_pass.key_id)
        assert old_key.retired_at is not None
        assert old_key.publish_until == old_pass.valid_until
        # After the old key's last pass expired, it is no longer published, and whatever it signed
        # is refused as signed by an unknown key.
        later = old_pass.valid_until + dt.timedelta(minutes=1)
        assert old_key.kid not in {k.kid for k in signing.published_keys(world.a.community.pk, later)}


def test_guard_desk_verifies_tokens_and_codes_and_counts_admissions(world: World, doors: Doors) -> None:
    visitor_pass = invite(world, uses=1)
    community_id = world.a.community.pk
    with community_scope(community_id):
        by_token = verify_at_desk(community_id, token_of(visitor_pass))
        by_code = verify_at_desk(community_id, visitor_pass.code)
        assert by_token.allowed and by_code.allowed and by_token.visitor_pass == visitor_pass
        assert verify_at_desk(community_id, "12345678").reason in ("unknown_pass", "ok")
        assert verify_at_desk(community_id, "nonsense").reason == "malformed"
    event = services.admit_at_desk(visitor_pass, door=doors.gate, actor=world.user("guard"))
    with community_scope(community_id):
        assert AccessEvent.objects.get(pk=event.pk).visitor_pass_id == visitor_pass.pk
        assert verify_at_desk(community_id, visitor_pass.code).reason == "used_up"
    with pytest.raises(Conflict):
        services.admit_at_desk(visitor_pass, door=doors.gate, actor=world.user("guard"))


def test_pass_input_is_checked(world: World) -> None:
    with pytest.raises(DomainError) as excinfo:
        invite(world, hours=24 * 8)
    assert excinfo.value.field == "valid_until"
    with pytest.raises(DomainError):
        invite(world, uses=0)
    with pytest.raises(DomainError) as excinfo:
        invite(world, plate="not a plate")
    assert excinfo.value.field == "plate"
    # Only someone living in the home may invite to it.
    with pytest.raises(DomainError):
        services.create_visitor_pass(
            host_person=world.a.people[0],
            host_home=world.a.homes[1],
            valid_from=timezone.now(),
            valid_until=timezone.now() + dt.timedelta(hours=1),
            actor=None,
        )
    with community_scope(world.a.community.pk):
        assert VisitorPass.objects.count() == 0


def test_walk_in_needs_the_residents_confirmation(
    world: World, doors: Doors, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    from anju.core import sms
    from anju.core.models import Notification

    community_id = world.a.community.pk
    with django_capture_on_commit_callbacks(execute=True):
        walk_in = services.register_walk_in(
            community=world.a.community, home=world.a.homes[0], visitor_name="快递员小李", actor=world.user("guard")
        )
    assert walk_in.status == "pending"
    assert Notification.objects.filter(recipient=world.user("resident_a"), kind="access.walk_in").exists()
    assert [phone for phone, _text in sms.outbox] == ["13900000001"], "the household is also texted"
    with community_scope(community_id):
        assert verify_at_desk(community_id, walk_in.code).reason == "awaiting_confirmation"
    services.answer_walk_in(walk_in, accept=True, actor=world.user("resident_a"))
    with community_scope(community_id):
        assert verify_at_desk(community_id, walk_in.code).allowed
    assert Notification.objects.filter(recipient=world.user("guard"), kind="access.walk_in_answer").exists()
    with pytest.raises(Conflict):
        services.answer_walk_in(walk_in, accept=False, actor=world.user("resident_a"))


def test_courier_flow(world: World, doors: Doors) -> None:
    delivery = services.register_delivery(
        community=world.a.community, home=world.a.homes[0], carrier="顺丰", actor=world.user("guard")
    )
    delivery = services.answer_delivery(delivery, let_in=True, actor=world.user("resident_a"))
    assert delivery.status == "admitted" and delivery.visitor_pass is not None
    courier = delivery.visitor_pass
    assert (courier.kind, courier.max_uses) == ("courier", 1)
    assert courier.valid_until - courier.valid_from == dt.timedelta(minutes=30)
    controller = synced_controller(doors)
    token = token_of(courier)
    assert controller.present_token(token, doors.unit_door.pk, now_ts()).allowed
    assert controller.present_token(token, doors.unit_door.pk, now_ts()).reason == "used_up"
    kept = services.register_delivery(
        community=world.a.community, home=world.a.homes[0], carrier="京东", actor=world.user("guard")
    )
    kept = services.answer_delivery(kept, let_in=False, actor=world.user("resident_a"))
    assert kept.status == "at_desk" and kept.visitor_pass is None
    assert services.collect_delivery(kept, actor=world.user("guard")).status == "collected"
