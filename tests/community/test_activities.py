"""Activities: capacity and waitlist, promotion on cancellation (also under concurrency on
PostgreSQL), QR check-in earning points, volunteer hours, iCalendar export."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from anju.community import services
from anju.community.models import Activity, PointsEntry, Signup
from anju.community.services.activities import CheckInClosed
from anju.community.services.points import balance_of, ledger_balance
from anju.core.errors import Conflict, DomainError
from anju.core.tenancy import community_scope

from ..personas import World, build_world
from .helpers import activity, resident


def _status(signup: Signup) -> str:
    with community_scope(signup.community_id):
        return Signup.objects.get(pk=signup.pk).status


def test_capacity_then_waitlist_then_promotion_in_order(world: World) -> None:
    a = world.a
    event = activity(a.community, capacity=2)
    people = [resident(a.homes[i])[0] for i in range(1, 6)]
    signups = [services.sign_up(activity=event, person=p, actor=None) for p in people]
    assert [s.status for s in signups] == ["confirmed", "confirmed", "waitlisted", "waitlisted", "waitlisted"]
    # Signing up twice returns the same place.
    assert services.sign_up(activity=event, person=people[0], actor=None).pk == signups[0].pk
    # A waitlisted person leaving promotes nobody; a confirmed one promotes the first in the queue.
    assert services.cancel_signup(signups[3], actor=None) is None
    promoted = services.cancel_signup(signups[0], actor=None)
    assert promoted is not None and promoted.pk == signups[2].pk
    assert [_status(s) for s in signups] == ["cancelled", "confirmed", "confirmed", "cancelled", "waitlisted"]
    # Cancelling twice changes nothing.
    assert services.cancel_signup(signups[0], actor=None) is None
    with community_scope(a.community.pk):
        assert Signup.objects.filter(activity=event, status="confirmed").count() == 2
    # The one cancelled may sign up again, at the back of the queue.
    again = services.sign_up(activity=event, person=people[0], actor=None)
    assert again.status == "waitlisted" and again.pk != signups[0].pk


def test_checkin_by_the_scanner_and_by_the_door_qr_earn_points_once(world: World) -> None:
    a = world.a
    event = activity(a.community, capacity=5, starts_in=dt.timedelta(minutes=30))
    person, user = resident(a.homes[1])
    signup = services.sign_up(activity=event, person=person, actor=user)
    code = services.signup_code(signup)

    staff = Client()
    staff.force_login(world.user("steward"))
    scanner = f"/console/c/{a.community.pk}/community/activities/{event.pk}/scan/"
    assert staff.post(scanner, {"code": code + "x"}).status_code == 200
    assert balance_of(person) == 0
    response = staff.post(scanner, {"code": code})
    assert response.status_code == 200 and person.name in response.content.decode()
    staff.post(scanner, {"code": code})  # scanned twice: still once
    assert balance_of(person) == ledger_balance(person) == 5

    # Someone else at the door: self check-in through the poster's QR link needs the right token.
    other, other_user = resident(a.homes[2])
    services.sign_up(activity=event, person=other, actor=other_user)
    phone = Client()
    phone.force_login(other_user)
    url = f"/portal/community/activities/{event.pk}/check-in/"
    assert phone.post(url, {"t": "wrong"}).status_code == 400
    assert balance_of(other) == 0
    assert phone.get(f"{url}?t={event.checkin_token}").status_code == 200
    assert phone.post(url, {"t": event.checkin_token}).status_code == 302
    assert balance_of(other) == 5
    # A code of one activity does not check in at another.
    second = activity(a.community, capacity=5, starts_in=dt.timedelta(minutes=10))
    with pytest.raises(DomainError):
        services.signup_from_code(second, code)


def test_checkin_window_and_waitlisted_people_are_refused(world: World) -> None:
    a = world.a
    event = activity(a.community, capacity=1, starts_in=dt.timedelta(days=3))
    first = services.sign_up(activity=event, person=resident(a.homes[1])[0], actor=None)
    waiting = services.sign_up(activity=event, person=resident(a.homes[2])[0], actor=None)
    with pytest.raises(CheckInClosed):
        services.check_in(first, actor=None)
    with pytest.raises(Conflict):
        services.check_in(waiting, actor=None, at=event.starts_at)
    checked = services.check_in(first, actor=None, at=event.starts_at)
    assert checked.checked_in_at == event.starts_at
    with pytest.raises(Conflict):
        services.cancel_signup(first, actor=None)


def test_volunteer_hours_earn_points_by_the_rule_in_force_and_corrections_reverse(world: World) -> None:
    a = world.a
    community = a.community
    services.set_points_rule(
        community=community,
        action="volunteer_hour",
        points=12,
        effective_from=timezone.now() - dt.timedelta(days=1),
        actor=None,
    )
    event = activity(
        community,
        capacity=3,
        kind=Activity.Kind.VOLUNTEER,
        hours=2,
        starts_in=dt.timedelta(minutes=5),
        title="楼道清扫",
    )
    person, _user = resident(a.homes[1])
    signup = services.sign_up(activity=event, person=person, actor=None)
    services.check_in(signup, actor=None)
    # Check-in 5 (default rule) + 2 hours × 12.
    assert balance_of(person) == 5 + 24
    services.record_volunteer_hours(signup, minutes=90, actor=None)
    assert balance_of(person) == 5 + 18 == ledger_balance(person)
    with community_scope(community.pk):
        kinds = list(PointsEntry.objects.filter(person=person).order_by("pk").values_list("kind", "amount"))
        assert kinds == [("earn", 5), ("earn", 24), ("reversal", -24), ("earn", 18)]
        assert Signup.objects.get(pk=signup.pk).volunteer_minutes == 90
    # A rule that takes effect after the activity started does not apply to it (its start decides).
    services.set_points_rule(
        community=community,
        action="volunteer_hour",
        points=100,
        effective_from=event.starts_at + dt.timedelta(minutes=1),
        actor=None,
    )
    services.record_volunteer_hours(signup, minutes=60, actor=None)
    assert balance_of(person) == 5 + 12


def test_ics_per_activity_and_per_person_parse_with_icalendar(world: World) -> None:
    a = world.a
    person, user = resident(a.homes[1])
    first = activity(a.community, capacity=2, title="中秋游园会")
    second = activity(a.community, capacity=2, starts_in=dt.timedelta(days=5), title="垃圾分类宣传")
    activity(a.community, capacity=2, starts_in=dt.timedelta(days=6), title="没报名的活动")
    services.sign_up(activity=first, person=person, actor=user)
    services.sign_up(activity=second, person=person, actor=user)
    client = Client()
    client.force_login(user)

    one = client.get(f"/portal/community/activities/{first.pk}/calendar.ics")
    assert one.status_code == 200 and one["Content-Type"].startswith("text/calendar")
    events = [c for c in Calendar.from_ical(one.content).walk("VEVENT")]
    assert len(events) == 1
    assert str(events[0]["SUMMARY"]) == "中秋游园会"
    assert events[0].decoded("DTSTART") == first.starts_at
    assert events[0].decoded("DTEND") == first.ends_at
    assert str(events[0]["LOCATION"]) == "会所二楼"

    mine = client.get("/portal/community/activities/mine.ics")
    summaries = sorted(str(e["SUMMARY"]) for e in Calendar.from_ical(mine.content).walk("VEVENT"))
    assert summaries == ["中秋游园会", "垃圾分类宣传"]
    # Another community's resident cannot fetch it.
    outsider = Client()
    outsider.force_login(world.user("resident_b"))
    assert outsider.get(f"/portal/community/activities/{first.pk}/calendar.ics").status_code == 404


def test_the_portal_sign_up_and_cancel_flow(world: World) -> None:
    a = world.a
    event = activity(a.community, capacity=1)
    _first, first_user = resident(a.homes[1])
    _second, second_user = resident(a.homes[2])
    c1, c2 = Client(), Client()
    c1.force_login(first_user)
    c2.force_login(second_user)
    url = f"/portal/community/activities/{event.pk}/"
    assert c1.post(url, {"action": "sign_up"}).status_code == 302
    assert c2.post(url, {"action": "sign_up"}).status_code == 302
    page = c1.get(url).content.decode()
    assert 'data-status="confirmed"' in page and "data-code" in page
    assert 'data-status="waitlisted"' in c2.get(url).content.decode()
    c1.post(url, {"action": "cancel"})
    assert 'data-status="confirmed"' in c2.get(url).content.decode()
    from anju.core.models import Notification

    assert Notification.objects.filter(recipient=second_user, kind="community.activity").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_cancellations_promote_exactly_the_waitlist_in_order() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks (SQLite serialises writers anyway)")
    world = build_world()
    a = world.a
    event = activity(a.community, capacity=4)
    people = [resident(a.homes[i % 12])[0] for i in range(1, 11)]
    signups = [services.sign_up(activity=event, person=p, actor=None) for p in people]
    confirmed, waiting = signups[:4], signups[4:]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def cancel(signup: Signup) -> None:
        try:
            barrier.wait()
            services.cancel_signup(signup, actor=None)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=cancel, args=(s,)) for s in confirmed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with community_scope(a.community.pk):
        now_confirmed = list(
            Signup.objects.filter(activity=event, status="confirmed")
            .order_by("queued_at", "pk")
            .values_list("pk", flat=True)
        )
        still_waiting = list(Signup.objects.filter(activity=event, status="waitlisted").values_list("pk", flat=True))
    assert now_confirmed == [s.pk for s in waiting[:4]]
    assert sorted(still_waiting) == sorted(s.pk for s in waiting[4:])
