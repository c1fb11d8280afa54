"""Announcements: targeting, read receipts, scheduling, idempotent publishing, attachments, print."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from anju.community import services
from anju.community.models import Announcement, AnnouncementRead
from anju.community.printing import announcement_pdf
from anju.core import sms
from anju.core.errors import DomainError, NotFound
from anju.core.models import AuditEntry, Notification
from anju.core.tenancy import community_scope
from anju.residents import services as residents

from ..personas import World
from .helpers import pdf_upload, png, resident


def _visible_ids(user, community_id: int) -> set[int]:
    from anju.community.services.common import current_occupancies

    with community_scope(community_id):
        return set(services.visible_to(current_occupancies(user, [community_id])).values_list("pk", flat=True))


@pytest.fixture
def block(world: World):
    """Community A with residents in both buildings: owners, a tenant, family, one without an account."""
    a = world.a
    people = {
        "owner_b1": (world.a.people[0], world.user("resident_a")),  # home 0, building 1
        "tenant_b1": resident(a.homes[1], role="tenant", name="租户甲"),
        "family_b1": resident(a.homes[0], role="family", name="家属甲"),
        "owner_b2": resident(a.homes[6], role="owner", name="业主乙"),
        "offline_b2": resident(a.homes[7], role="owner", name="老人丙", account=False),
    }
    return people


def test_a_targeted_notice_reaches_its_targets_only(world: World, block) -> None:
    a = world.a
    community = a.community
    building2 = a.buildings[1]
    with community_scope(community.pk):
        to_building2 = services.publish_announcement(
            community=community,
            title="2栋电梯检修",
            body="周三停梯",
            category="outage",
            building_ids=[building2.pk],
            actor=world.user("manager_x"),
        )
        to_owners = services.publish_announcement(
            community=community,
            title="业主大会",
            body="选举",
            category="elections",
            roles=["owners"],
            actor=world.user("manager_x"),
        )
        unit_of_home1 = a.homes[1].unit_id
        to_unit = services.publish_announcement(
            community=community,
            title="1单元消防演练",
            body="周五",
            category="safety",
            unit_ids=[unit_of_home1],
            roles=["tenants"],
            actor=None,
        )
        everyone = services.publish_announcement(
            community=community, title="物业费调整", body="…", category="fees", actor=None
        )
    owner_b1 = _visible_ids(block["owner_b1"][1], community.pk)
    tenant_b1 = _visible_ids(block["tenant_b1"][1], community.pk)
    family_b1 = _visible_ids(block["family_b1"][1], community.pk)
    owner_b2 = _visible_ids(block["owner_b2"][1], community.pk)
    assert owner_b1 == {to_owners.pk, everyone.pk}
    assert tenant_b1 == {to_unit.pk, everyone.pk}
    assert family_b1 == {everyone.pk}
    assert owner_b2 == {to_building2.pk, to_owners.pk, everyone.pk}
    # A resident of another community sees none of them.
    assert _visible_ids(world.user("resident_b"), world.b.community.pk) == set()

    # The portal agrees: the building-2 notice is a 404 for a building-1 resident.
    client = Client()
    client.force_login(block["owner_b1"][1])
    assert client.get(f"/portal/community/notices/{to_building2.pk}/").status_code == 404
    assert client.get(f"/portal/community/notices/{everyone.pk}/").status_code == 200
    other = Client()
    other.force_login(world.user("resident_b"))
    assert other.get(f"/portal/community/notices/{everyone.pk}/").status_code == 404


def test_read_receipts_are_exact_and_stewards_see_their_own_homes(
    world: World, block, django_capture_on_commit_callbacks
) -> None:
    a = world.a
    community = a.community
    steward = world.user("steward")
    residents.assign_steward(homes=[a.homes[6], a.homes[7]], steward=steward, actor=None)
    with community_scope(community.pk), django_capture_on_commit_callbacks(execute=True):
        notice = services.publish_announcement(
            community=community,
            title="明日停水",
            body="8:00-12:00",
            category="outage",
            urgent=True,
            actor=world.user("manager_x"),
        )
    # Urgent: SMS to every addressed account (5 people, 4 with accounts), in-app rows for them.
    assert len(sms.outbox) == 4
    assert Notification.objects.filter(kind="community.announcement").count() == 4

    for key in ("owner_b1", "owner_b2"):
        client = Client()
        client.force_login(block[key][1])
        assert client.get(f"/portal/community/notices/{notice.pk}/").status_code == 200
        client.get(f"/portal/community/notices/{notice.pk}/")  # a second read does not count twice
    with community_scope(community.pk):
        assert AnnouncementRead.objects.filter(announcement=notice).count() == 2
        receipts = services.read_receipts(notice)
        assert (receipts.people, receipts.read) == (5, 2)
        assert {h.home.pk for h in receipts.homes_unread} == {a.homes[1].pk, a.homes[7].pk}
        mine = services.read_receipts(notice, steward=steward)
        assert {h.home.pk for h in mine.homes} == {a.homes[6].pk, a.homes[7].pk}
        assert [h.home.pk for h in mine.homes_unread] == [a.homes[7].pk]
        offline = mine.homes_unread[0].recipients[0]
        assert offline.person.name == "老人丙" and not offline.has_account
        assert offline.person.phone_masked.count("*") == 4

    # The steward's console page lists the unread home with the masked number and nothing else.
    client = Client()
    client.force_login(steward)
    page = client.get(f"/console/c/{community.pk}/community/announcements/{notice.pk}/").content.decode()
    assert offline.person.phone_masked in page
    assert "老人丙" in page and "租户甲" not in page


def test_publishing_is_idempotent_by_source_ref_and_withdraw_by_ref(world: World, block) -> None:
    community = world.a.community
    with community_scope(community.pk):
        first = services.publish_announcement(
            community=community,
            title="3号电梯停用",
            body="维修中",
            category="outage",
            source_ref="alarm:42",
            urgent=True,
            actor=None,
        )
        again = services.publish_announcement(
            community=community,
            title="3号电梯停用",
            body="维修中",
            category="outage",
            source_ref="alarm:42",
            urgent=True,
            actor=None,
        )
        assert again.pk == first.pk
        assert Announcement.objects.filter(source_ref="alarm:42").count() == 1
        texts = len(sms.outbox)
        withdrawn = services.withdraw_announcement(community=community, source_ref="alarm:42", actor=None)
        assert withdrawn.withdrawn_at is not None
        services.withdraw_announcement(community=community, source_ref="alarm:42", actor=None)
        assert len(sms.outbox) == texts
        with pytest.raises(NotFound):
            services.withdraw_announcement(community=community, source_ref="alarm:nope", actor=None)
    assert first.pk not in _visible_ids(block["owner_b1"][1], community.pk)
    assert AuditEntry.objects.filter(action="announcement.withdraw", object_id=str(first.pk)).count() == 1


def test_scheduled_notices_appear_and_notify_on_time_and_expire(world: World, block) -> None:
    community = world.a.community
    later = timezone.now() + dt.timedelta(hours=2)
    with community_scope(community.pk):
        scheduled = services.publish_announcement(
            community=community,
            title="下周停电",
            body="…",
            category="outage",
            publish_at=later,
            expires_at=later + dt.timedelta(days=1),
            actor=None,
        )
    assert scheduled.pk not in _visible_ids(block["owner_b1"][1], community.pk)
    assert Notification.objects.count() == 0
    assert services.notify_due_announcements(now=later - dt.timedelta(minutes=1)) == 0
    assert services.notify_due_announcements(now=later + dt.timedelta(minutes=1)) == 1
    assert services.notify_due_announcements(now=later + dt.timedelta(minutes=2)) == 0  # claimed once
    assert Notification.objects.count() == 4
    with community_scope(community.pk):
        assert Announcement.objects.live(at=later + dt.timedelta(hours=1)).filter(pk=scheduled.pk).exists()
        assert not Announcement.objects.live(at=later + dt.timedelta(days=2)).filter(pk=scheduled.pk).exists()


def test_bad_announcements_are_refused_and_store_nothing(world: World) -> None:
    community = world.a.community
    foreign_building = world.b.buildings[0]
    with community_scope(community.pk):
        for kwargs in (
            {"title": " ", "body": "x"},
            {"title": "t", "body": "x", "category": "party"},
            {"title": "t", "body": "x", "roles": ["kings"]},
            {"title": "t", "body": "x", "building_ids": [foreign_building.pk]},
            {"title": "t", "body": "x", "expires_at": timezone.now() - dt.timedelta(days=1)},
        ):
            with pytest.raises(DomainError):
                services.publish_announcement(community=community, actor=None, **kwargs)
        assert Announcement.objects.count() == 0


def test_attachments_are_checked_by_content_and_served_to_the_audience_only(world: World, block) -> None:
    community = world.a.community
    with community_scope(community.pk):
        notice = services.publish_announcement(community=community, title="通知", body="见附件", actor=None)
        for upload in (
            SimpleUploadedFile("evil.pdf", b"MZ\x90\x00 not a pdf"),
            SimpleUploadedFile("script.exe", b"MZ\x90\x00"),
            SimpleUploadedFile("empty.pdf", b""),
        ):
            with pytest.raises(DomainError):
                services.attach_file(notice, upload=upload, actor=None)
        attachment = services.attach_file(notice, upload=pdf_upload("停水.pdf"), actor=None)
        picture = services.attach_file(notice, upload=png("map.png"), actor=None)
    assert attachment.name == "停水.pdf" and picture.content_type == "image/png"
    client = Client()
    client.force_login(block["owner_b1"][1])
    response = client.get(f"/portal/community/attachments/{attachment.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF-")
    outsider = Client()
    outsider.force_login(world.user("resident_b"))
    assert outsider.get(f"/portal/community/attachments/{attachment.pk}/").status_code == 404


def test_the_printable_pdf_carries_the_chinese_text(world: World) -> None:
    from pypdf import PdfReader

    community = world.a.community
    with community_scope(community.pk):
        notice = services.publish_announcement(
            community=community,
            title="关于二次供水水箱清洗的通知",
            body="定于本周六上午清洗水箱。\n请提前储水。",
            urgent=True,
            category="outage",
            actor=None,
        )
    data = announcement_pdf(notice, community, issuer="甲小区物业服务中心")
    assert data.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "二次供水水箱清洗" in text and "请提前储水" in text
    client = Client()
    client.force_login(world.user("manager_x"))
    response = client.get(f"/console/c/{community.pk}/community/announcements/{notice.pk}/print.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_staff_notices_reach_staff_with_a_link_only_where_they_can_open_it(world: World) -> None:
    community = world.a.community
    with community_scope(community.pk):
        notice = services.publish_announcement(
            community=community, title="本周值班安排", body="周六：张师傅；周日：李师傅。", roles=["staff"], actor=None
        )
    technician = Notification.objects.get(recipient=world.user("technician"))
    steward = Notification.objects.get(recipient=world.user("steward"))
    assert technician.url == "" and technician.body == "周六：张师傅；周日：李师傅。"
    assert steward.url.endswith(f"/community/announcements/{notice.pk}/")
    # Residents are not addressed by a staff-only notice.
    assert not Notification.objects.filter(recipient=world.user("resident_a")).exists()
    assert notice.pk not in _visible_ids(world.user("resident_a"), community.pk)


def test_receipts_count_current_occupants_only_and_each_person_once(world: World) -> None:
    import datetime as dt_

    from anju.residents.models import Occupancy

    a = world.a
    community = a.community
    moved_out, _u = resident(a.homes[3], name="已搬走")
    two_homes, two_user = resident(a.homes[4], name="两套房")
    residents.add_occupancy(home=a.homes[5], person=two_homes, role="owner", starts_on=dt_.date(2021, 1, 1), actor=None)
    with community_scope(community.pk):
        residents.end_occupancy(Occupancy.objects.get(person=moved_out), ends_on=dt_.date(2023, 1, 1), actor=None)
        notice = services.publish_announcement(community=community, title="公示", body="…", actor=None)
        services.mark_read(notice, user=two_user, person=two_homes)
        receipts = services.read_receipts(notice)
    names = {r.person.name for home in receipts.homes for r in home.recipients}
    assert "已搬走" not in names
    # The owner of two homes is listed at both, counted once, and both homes show them as read.
    assert receipts.people == 2 and receipts.read == 1
    assert {h.home.pk for h in receipts.homes if h.anyone_read} == {a.homes[4].pk, a.homes[5].pk}
