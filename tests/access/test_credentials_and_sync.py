"""Credentials tied to occupancy, the allow-lists controllers sync, and uploaded events."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.utils import timezone

from anju.access import services, signing, sync, tokens
from anju.access.controller import OfflineController
from anju.access.events import decide_online
from anju.access.models import AccessEvent, AccessSettings, AllowEntry, Credential
from anju.access.rules import day_window
from anju.core.errors import Conflict, DomainError
from anju.core.tenancy import community_scope
from anju.residents import services as residents
from anju.residents.models import Occupancy
from tests.personas import World

from .conftest import Doors, at, synced_controller

pytestmark = pytest.mark.django_db


def issue_card(world: World, person, number: str, actor: str = "manager_x") -> Credential:  # type: ignore[no-untyped-def]
    return services.issue_credential(
        community=world.a.community, kind="card", person=person, card_number=number, actor=world.user(actor)
    )


def new_tenant(
    world: World, home_index: int = 2, *, starts_on: dt.date, name: str = "租客", phone: str = "13700000009"
):  # type: ignore[no-untyped-def]
    person = residents.create_person(community=world.a.community, name=name, phone=phone, actor=None)
    occupancy = residents.add_occupancy(
        home=world.a.homes[home_index], person=person, role="tenant", starts_on=starts_on, actor=None
    )
    return person, occupancy


def test_cards_are_stored_encrypted_masked_and_found_by_keyed_hash(world: World, doors: Doors) -> None:
    card = issue_card(world, world.a.people[0], "04:A2:3B:7C:91")
    assert card.card_masked == "****7C91"
    assert "04A23B7C91" not in card.card_encrypted and card.card_encrypted
    assert card.lookup_key.startswith("card:") and "04A23B7C91" not in card.lookup_key
    with community_scope(world.a.community.pk):
        # However the reader prints it, the same card is found.
        verdict = decide_online(doors.unit_door, card="04 a2 3b 7c 91")
        assert verdict.allowed and verdict.credential == card
    with pytest.raises(Conflict):
        issue_card(world, world.a.people[0], "04A23B7C91")


def test_credentials_need_a_resident_or_a_staff_role(world: World, doors: Doors) -> None:
    stranger = residents.create_person(community=world.a.community, name="路人", actor=None)
    with pytest.raises(DomainError) as excinfo:
        issue_card(world, stranger, "DEADBEEF")
    assert excinfo.value.code == "not_resident"
    with pytest.raises(DomainError) as excinfo:
        services.issue_credential(
            community=world.a.community, kind="card", user=world.user("resident_a"), card_number="BEEF01", actor=None
        )
    assert excinfo.value.code == "not_staff"
    guard_card = services.issue_credential(
        community=world.a.community, kind="card", user=world.user("guard"), card_number="6A6A6A6A", actor=None
    )
    with community_scope(world.a.community.pk):
        assert decide_online(doors.other_entrance, card="6A6A6A6A").allowed  # guards: everywhere, any hour
    assert guard_card.user == world.user("guard")


def test_face_needs_separate_consent_and_is_never_the_only_way_in(world: World, doors: Doors) -> None:
    person = world.a.people[0]
    with pytest.raises(DomainError) as excinfo:
        services.issue_credential(
            community=world.a.community, kind="face", person=person, face_template_ref="tpl-1", actor=None
        )
    assert excinfo.value.code == "face_consent_missing"
    consent = residents.grant_consent(person=person, purpose="face_recognition", actor=None)
    with pytest.raises(DomainError) as excinfo:
        services.issue_credential(
            community=world.a.community, kind="face", person=person, face_template_ref="tpl-1", actor=None
        )
    assert excinfo.value.code == "face_only_way"
    services.ensure_qr_credential(person, actor=None)
    face = services.issue_credential(
        community=world.a.community, kind="face", person=person, face_template_ref="tpl-1", actor=None
    )
    with community_scope(world.a.community.pk):
        assert decide_online(doors.unit_door, face="tpl-1").allowed
    # Withdrawing consent stops the face at once online, and in the allow-list at the next refresh.
    residents.withdraw_consent(consent, actor=None)
    with community_scope(world.a.community.pk):
        assert decide_online(doors.unit_door, face="tpl-1").reason == "no_right"
    services.end_lapsed_credentials(world.a.community.pk)
    controller = synced_controller(doors)
    assert face.lookup_key not in controller.allow


def test_move_out_ends_access_without_human_action(world: World, doors: Doors) -> None:
    """A tenant's card opens until their lease's last day, online and offline; the day after, both
    refuse; the periodic job ends the card and the controller's next sync drops it."""
    today = timezone.localdate()
    person, occupancy = new_tenant(world, starts_on=today - dt.timedelta(days=100))
    # Issued at midnight, so the checks at fixed hours below hold whatever time the suite runs.
    start_of_today = dt.datetime.fromtimestamp(at(today, 0), dt.UTC)
    card = services.issue_credential(
        community=world.a.community,
        kind="card",
        person=person,
        card_number="11223344",
        valid_from=start_of_today,
        actor=world.user("manager_x"),
    )
    controller = synced_controller(doors)
    door = doors.gate.pk
    assert controller.present_card("11223344", door, at(today, 9)).allowed

    # The lease is ended in the register (by the residents app, which knows nothing about doors).
    residents.end_occupancy(occupancy, ends_on=today, actor=None)
    community_id = world.a.community.pk
    with community_scope(community_id):
        assert decide_online(doors.gate, card="11223344", at=timezone.now()).allowed  # still today
        tomorrow_morning = dt.datetime.fromtimestamp(at(today + dt.timedelta(days=1), 7), dt.UTC)
        assert decide_online(doors.gate, card="11223344", at=tomorrow_morning).reason == "outside_window"
        version_before = AccessSettings.objects.get(community_id=community_id).version

    # The periodic job's refresh narrows the window the controller holds, even before the day ends.
    from anju.access.tasks import end_lapsed_credentials

    end_lapsed_credentials()
    with community_scope(community_id):
        assert AccessSettings.objects.get(community_id=community_id).version > version_before
        controller.apply(sync.payload_for(doors.controller, controller.version))
    assert controller.present_card("11223344", door, at(today, 23, 59)).allowed
    assert controller.present_card("11223344", door, at(today + dt.timedelta(days=1), 7)).reason == "outside_window"

    # The next run after the end date ends the credential itself and the entry disappears.
    with community_scope(community_id):
        Occupancy.objects.filter(pk=occupancy.pk).update(
            starts_on=today - dt.timedelta(days=100), ends_on=today - dt.timedelta(days=1)
        )
    assert end_lapsed_credentials() == 1
    with community_scope(community_id):
        card.refresh_from_db()
        assert (card.ended_reason, card.ended_at is not None) == ("occupancy_ended", True)
        controller.apply(sync.payload_for(doors.controller, controller.version))
    assert controller.present_card("11223344", door, at(today, 9)).reason == "unknown_credential"
    assert end_lapsed_credentials() == 0  # nothing left to end: safe to run again


def test_family_member_within_their_dates(world: World, doors: Doors) -> None:
    today = timezone.localdate()
    person = residents.create_person(community=world.a.community, name="家属", actor=None)
    residents.add_occupancy(
        home=world.a.homes[0], person=person, role="family", starts_on=today + dt.timedelta(days=3), actor=None
    )
    issue_card(world, person, "FAFAFAFA")
    controller = synced_controller(doors)
    assert controller.present_card("FAFAFAFA", doors.gate.pk, at(today, 12)).reason == "outside_window"
    assert controller.present_card("FAFAFAFA", doors.gate.pk, at(today + dt.timedelta(days=3), 0)).allowed


def test_sync_catches_up_after_a_long_gap_in_one_request(world: World, doors: Doors) -> None:
    community_id = world.a.community.pk
    first = issue_card(world, world.a.people[0], "A0000001")
    controller = synced_controller(doors)
    start_version = controller.version
    # A day of changes while the controller is offline: new tenants with cards, a card ended,
    # a pass revoked, a key rotated.
    today = timezone.localdate()
    added = []
    for n in range(12):
        person, _ = new_tenant(world, home_index=1 + n % 5, starts_on=today, name=f"租客{n}", phone=f"1370000{n:04d}")
        added.append(issue_card(world, person, f"B{n:07d}"))
    services.end_credential(first, reason="lost", actor=None)
    now = timezone.now()
    visitor_pass = services.create_visitor_pass(
        host_person=world.a.people[0],
        host_home=world.a.homes[0],
        valid_from=now,
        valid_until=now + dt.timedelta(hours=3),
        actor=None,
    )
    services.revoke_visitor_pass(visitor_pass, actor=None)
    services.rotate_signing_key(community=world.a.community, actor=None)
    with community_scope(community_id):
        payload = sync.payload_for(doors.controller, start_version)
    assert payload["full"] is False
    assert {e["key"] for e in payload["allow"]} == {c.lookup_key for c in added}
    assert payload["remove"] == [first.lookup_key]
    controller.apply(payload)
    with community_scope(community_id):
        assert controller.version == AccessSettings.objects.get(community_id=community_id).version
        fresh = synced_controller(doors)
        assert fresh.allow == controller.allow and fresh.revoked == controller.revoked
        assert set(controller.keys) == {k.kid for k in signing.published_keys(community_id)}
    in_a_minute = int(timezone.now().timestamp()) + 60  # the cards were issued just now
    assert controller.present_card("B0000003", doors.gate.pk, in_a_minute).allowed
    assert controller.present_card("A0000001", doors.gate.pk, in_a_minute).reason == "unknown_credential"

    # Once the tombstones are compacted, a controller older than them gets a full snapshot.
    with community_scope(community_id):
        AllowEntry.objects.filter(removed=True).update(changed_at=timezone.now() - dt.timedelta(days=30))
        sync.compact(community_id)
        snapshot = sync.payload_for(doors.controller, start_version)
        assert snapshot["full"] is True and snapshot["remove"] == []
        assert {e["key"] for e in snapshot["allow"]} == {c.lookup_key for c in added}
        # Up to date: an empty delta.
        current = sync.payload_for(doors.controller, controller.version)
        assert (current["full"], current["allow"], current["remove"]) == (False, [], [])


def test_allow_lists_equal_online_decisions_for_a_random_population(world: World, doors: Doors) -> None:
    """The property the one-rule design promises: for every credential, door and moment, the offline
    controller (allow-list) and the online decision agree."""
    rng = random.Random(6)
    community = world.a.community
    today = timezone.localdate()
    more_doors = [
        services.create_door(
            community=community,
            name=f"2号楼电梯{f}层",
            kind="lift_floor",
            building=world.a.buildings[1],
            floor=f,
            controller=doors.controller,
            actor=None,
        )
        for f in (1, 3)
    ]
    all_doors = [
        doors.gate,
        doors.entrance,
        doors.unit_door,
        doors.garage,
        doors.lift2,
        doors.other_entrance,
        *more_doors,
    ]
    presented: list[tuple[str, str]] = []
    for n in range(16):
        person = residents.create_person(community=community, name=f"居民{n}", phone=f"1360000{n:04d}", actor=None)
        start = today + dt.timedelta(days=rng.randint(-30, 3))
        occupancy = residents.add_occupancy(
            home=rng.choice(world.a.homes),
            person=person,
            role=rng.choice(["tenant", "family"]),
            starts_on=start,
            actor=None,
        )
        kind = rng.choice(["card", "plate", "qr"])
        if kind == "card":
            number = f"{n:08X}"
            services.issue_credential(community=community, kind="card", person=person, card_number=number, actor=None)
            presented.append(("card", number))
        elif kind == "plate":
            plate = f"京A{n:05d}"
            services.issue_credential(community=community, kind="plate", person=person, plate=plate, actor=None)
            presented.append(("plate", plate))
        else:
            credential = services.ensure_qr_credential(person, actor=None)
            presented.append(("qr", str(credential.pk)))
        if rng.random() < 0.4:  # moved out (or will): the credential was issued while living there
            residents.end_occupancy(occupancy, ends_on=start + dt.timedelta(days=rng.randint(0, 40)), actor=None)
        if rng.random() < 0.15:
            services.add_deny_entry(
                community=community,
                person=person,
                reason="欠费纠纷中",
                ends_at=timezone.now() + dt.timedelta(days=2),
                actor=None,
            )
    for role_user in ("guard", "technician", "steward", "finance"):
        number = f"5{len(presented):07X}"
        services.issue_credential(
            community=community, kind="card", user=world.user(role_user), card_number=number, actor=None
        )
        presented.append(("card", number))
    # The register changed behind the access app's back (occupancies ended): the periodic refresh
    # brings the allow-lists in line, as it does every few minutes in production.
    services.end_lapsed_credentials(community.pk)
    controller = synced_controller(doors)
    moments = [
        at(today + dt.timedelta(days=d), h) for d, h in ((-1, 9), (0, 3), (0, 19), (1, 9), (2, 19), (5, 9), (45, 3))
    ]
    compared = allowed = 0
    with community_scope(community.pk):
        key = signing.active_key(community.pk)
        assert key is not None
        for kind, value in presented:
            for door in all_doors:
                for moment in moments:
                    when = dt.datetime.fromtimestamp(moment, dt.UTC)
                    if kind == "card":
                        online = decide_online(door, card=value, at=when).allowed
                        offline = controller._check_key(
                            tokens.card_key(controller.card_secret, value),
                            door.pk,
                            moment,
                            "card",
                        ).allowed
                    elif kind == "plate":
                        online = decide_online(door, plate=value, at=when).allowed
                        offline = controller._check_key("plate:" + value, door.pk, moment, "plate").allowed
                    else:
                        credential = Credential.objects.get(pk=int(value))
                        token = signing.resident_qr_token(credential, key, lifetime_seconds=60, now=when)
                        online = decide_online(door, token=token, at=when).allowed
                        offline = controller.verify_token(token, door.pk, moment).allowed
                    assert online == offline, (kind, value, door.name, when)
                    compared += 1
                    allowed += online
    assert compared == len(presented) * len(all_doors) * len(moments)
    assert 0 < allowed < compared  # the population exercised both answers


def test_uploaded_events_are_stored_once_and_searchable(world: World, doors: Doors) -> None:
    card = issue_card(world, world.a.people[0], "CAFE0001")
    controller = synced_controller(doors)
    now = timezone.now()
    for minute in range(3):
        controller.present_card("CAFE0001", doors.gate.pk, int(now.timestamp()) + 60 * minute)
    controller.present_card("0BADCAFE", doors.gate.pk, int(now.timestamp()))
    batch = controller.take_events()
    first = services.ingest_events(doors.controller, batch)
    again = services.ingest_events(doors.controller, [*batch, {"id": 99, "door_id": 123456, "at": 1, "result": "x"}])
    assert (first.stored, first.duplicates) == (4, 0)
    assert (again.stored, again.duplicates) == (0, 4)
    assert again.refused == [{"index": 4, "reason": "unknown_door"}]
    with community_scope(world.a.community.pk):
        events = AccessEvent.objects.filter(controller=doors.controller)
        assert events.count() == 4
        mine = events.filter(person=world.a.people[0])
        assert mine.count() == 3 and all(e.home_id == world.a.homes[0].pk for e in mine)
        assert all(e.credential_id == card.pk for e in mine)
        assert events.filter(result="denied").count() == 1


def test_retention_purges_old_entries(world: World, doors: Doors) -> None:
    services.update_access_settings(community=world.a.community, log_retention_days=30, actor=None)
    old, recent = timezone.now() - dt.timedelta(days=31), timezone.now() - dt.timedelta(days=29)
    controller = synced_controller(doors)
    controller.present_card("00000000", doors.gate.pk, int(old.timestamp()))
    controller.present_card("00000000", doors.gate.pk, int(recent.timestamp()))
    services.ingest_events(doors.controller, controller.take_events())
    from anju.access.tasks import purge_log

    assert purge_log() == 1
    with community_scope(world.a.community.pk):
        assert list(AccessEvent.objects.values_list("occurred_at", flat=True)) == [
            dt.datetime.fromtimestamp(int(recent.timestamp()), dt.UTC)
        ]


def test_occupancy_window_is_local_days(world: World) -> None:
    window = day_window(dt.date(2026, 1, 1), dt.date(2026, 1, 1))
    assert window.end is not None and window.start is not None
    assert window.end - window.start == 86400
    assert dt.datetime.fromtimestamp(window.start, dt.UTC).hour == 16  # 00:00 in Shanghai


@pytest.mark.django_db(transaction=True)
def test_versions_are_unique_under_concurrent_writers(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locking; the CI's PostgreSQL pass runs it")
    import threading

    community_id = world.a.community.pk
    with community_scope(community_id):
        sync.access_settings(community_id)
    seen: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        from django.db import connection as thread_connection
        from django.db import transaction

        try:
            for _ in range(10):
                with transaction.atomic(), community_scope(community_id):
                    seen.append(sync.next_version(community_id))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(seen) == len(set(seen)) == 40


def test_offline_controller_forgets_expired_revocations() -> None:
    controller = OfflineController(community_id=1, revoked={("pass", 1): 100, ("pass", 2): 300})
    controller.forget_expired(200)
    assert controller.revoked == {("pass", 2): 300}
