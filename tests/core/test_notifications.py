"""In-app notifications: written with the change, texted only after it commits, read only by their
recipient, in the inbox page and the API."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from anju.core import sms
from anju.core.crypto import seal_phone
from anju.core.models import Notification
from anju.core.notifications import notify, unread_count


def _with_phone(user, phone: str):
    sealed = seal_phone(phone)
    user.phone_encrypted, user.phone_index, user.phone_masked = sealed.encrypted, sealed.index, sealed.masked
    user.save()
    return user


@pytest.mark.django_db(transaction=True)
def test_notify_writes_rows_in_the_transaction_and_texts_only_after_commit(world):
    manager = _with_phone(world.user("manager_x"), "13912345678")
    steward = world.user("steward")
    with transaction.atomic():
        notify([manager, steward, manager], kind="test", title="水管漏水", body="3栋", sms=True)
        assert Notification.objects.filter(kind="test").count() == 2  # one each, duplicates dropped
        assert sms.outbox == []
    assert sms.outbox == [("13912345678", "水管漏水 3栋")]  # the steward has no phone on the account

    sms.outbox.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        notify([manager], kind="rolled", title="不应发送", sms=True)
        raise RuntimeError
    assert sms.outbox == [] and not Notification.objects.filter(kind="rolled").exists()


@pytest.mark.django_db
def test_the_inbox_shows_only_ones_own_and_marks_them_read(world):
    manager, steward = world.user("manager_x"), world.user("steward")
    notify([manager], kind="test", title="给经理的消息")
    notify([steward], kind="test", title="给管家的消息")
    client = Client()
    client.force_login(manager)
    page = client.get("/notifications/").content.decode()
    assert "给经理的消息" in page and "给管家的消息" not in page
    assert unread_count(manager) == 1
    assert client.post("/notifications/read-all/").status_code == 302
    assert unread_count(manager) == 0 and unread_count(steward) == 1


@pytest.mark.django_db
def test_residents_read_theirs_in_the_portal_frame(world):
    resident = world.user("resident_a")
    notify([resident], kind="test", title="您的报修已受理")
    client = Client()
    client.force_login(resident)
    response = client.get("/notifications/")
    assert "您的报修已受理" in response.content.decode()
    assert "web/portal_base.html" in [t.name for t in response.templates]


@pytest.mark.django_db
def test_the_api_lists_and_marks_only_the_callers_notifications(world):
    manager, steward = world.user("manager_x"), world.user("steward")
    mine = notify([manager], kind="test", title="一")[0]
    notify([manager], kind="test", title="二")
    theirs = notify([steward], kind="test", title="三")[0]
    client = Client()
    client.force_login(manager)
    listed = client.get("/api/v1/notifications?unread=true").json()
    assert sorted(item["title"] for item in listed["items"]) == ["一", "二"]
    assert client.post(f"/api/v1/notifications/{mine.pk}/read").json() == {"marked": 1}
    refused = client.post(f"/api/v1/notifications/{theirs.pk}/read")
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 1}
    assert client.get("/api/v1/notifications?unread=true").json()["items"] == []
