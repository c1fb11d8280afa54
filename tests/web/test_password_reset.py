"""Password reset: staff by e-mailed link, residents by SMS code (digest only, 10 minutes, 5 tries)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from anju.core import password_reset, sms
from anju.core.errors import DomainError
from anju.core.models import AuditEntry, PasswordResetCode, User
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-much-better-pass-42"
RESIDENT_PHONE = "13900000001"


@pytest.fixture(autouse=True)
def _run_on_commit(monkeypatch):
    """Tests run inside a transaction that never commits; run the services' on-commit effects (the
    SMS itself, clearing lock-outs) as each service's own transaction ends, as they would in production."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())


def _code_from_outbox() -> str:
    _phone, body = sms.outbox[-1]
    match = re.search(r"(?<!\d)(\d{6})(?!\d)", body)
    assert match, body
    return match.group(1)


# --- staff, by e-mail -------------------------------------------------------------------------------


def test_staff_reset_link_arrives_by_email_and_sets_the_password(client, world):
    manager = world.user("manager_x")
    manager.email = "manager@x.example"
    manager.save()
    response = client.post(reverse("password_reset"), {"email": "manager@x.example"})
    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/password-reset/\S+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body

    response = client.get(link.group(1), follow=True)
    assert response.context["validlink"] is True
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response.url == reverse("password_reset_complete")
    manager.refresh_from_db()
    assert manager.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="user.password_reset", object_id=str(manager.pk)).exists()
    # The link works once only.
    assert client.get(link.group(1), follow=True).context["validlink"] is False


def test_unknown_email_gets_the_same_answer_and_no_mail(client, world):
    response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.example"})
    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []


# --- residents, by SMS --------------------------------------------------------------------------------


def test_sms_code_is_sent_and_only_its_digest_is_stored(client, world):
    response = client.post(reverse("sms_reset_request"), {"phone": "139 0000 0001"})
    assert response.status_code == 302
    assert response.url == reverse("sms_reset_verify")
    assert len(sms.outbox) == 1
    assert sms.outbox[0][0] == RESIDENT_PHONE
    code = _code_from_outbox()
    stored = PasswordResetCode.objects.get(user=world.user("resident_a"))
    assert code not in stored.code_digest
    assert len(stored.code_digest) == 64
    lifetime = stored.expires_at - stored.created_at
    assert lifetime == dt.timedelta(minutes=10)
    # The next page already knows the number, without it being in the URL.
    page = client.get(reverse("sms_reset_verify"))
    assert page.context["form"].initial["phone"] == RESIDENT_PHONE


def test_unknown_number_gets_the_same_answer_and_no_sms(client, world):
    known = client.post(reverse("sms_reset_request"), {"phone": RESIDENT_PHONE}, follow=True)
    sms.outbox.clear()
    unknown = client.post(reverse("sms_reset_request"), {"phone": "13712345678"}, follow=True)
    assert sms.outbox == []
    assert unknown.redirect_chain == known.redirect_chain
    assert [str(m) for m in unknown.context["messages"]] == [str(m) for m in known.context["messages"]]


def test_invalid_number_is_a_form_error(client, world):
    response = client.post(reverse("sms_reset_request"), {"phone": "12345"})
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert sms.outbox == []


def test_right_code_sets_the_new_password_and_resident_can_log_in(client, world):
    client.post(reverse("sms_reset_request"), {"phone": RESIDENT_PHONE})
    response = client.post(
        reverse("sms_reset_verify"),
        {
            "phone": RESIDENT_PHONE,
            "code": _code_from_outbox(),
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response.url == reverse("login")
    resident = User.objects.get(pk=world.user("resident_a").pk)
    assert resident.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="user.password_reset", object_id=str(resident.pk)).exists()
    login = client.post(reverse("login"), {"username": RESIDENT_PHONE, "password": NEW_PASSWORD})
    assert login.status_code == 302


def test_code_cannot_be_used_twice(world):
    password_reset.request_sms_reset_code(phone=RESIDENT_PHONE, actor=None)
    code = _code_from_outbox()
    password_reset.reset_password_with_sms_code(phone=RESIDENT_PHONE, code=code, new_password=NEW_PASSWORD, actor=None)
    with pytest.raises(DomainError):
        password_reset.reset_password_with_sms_code(
            phone=RESIDENT_PHONE, code=code, new_password="yet-another-pass-77", actor=None
        )


def test_wrong_code_is_refused_and_five_wrong_tries_kill_the_code(world):
    password_reset.request_sms_reset_code(phone=RESIDENT_PHONE, actor=None)
    code = _code_from_outbox()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _attempt in range(5):
        with pytest.raises(DomainError) as refused:
            password_reset.reset_password_with_sms_code(
                phone=RESIDENT_PHONE, code=wrong, new_password=NEW_PASSWORD, actor=None
            )
        assert refused.value.code == "invalid_code"
    assert PasswordResetCode.objects.get().attempts == 5
    # Even the right code no longer works after five wrong ones.
    with pytest.raises(DomainError):
        password_reset.reset_password_with_sms_code(
            phone=RESIDENT_PHONE, code=code, new_password=NEW_PASSWORD, actor=None
        )
    assert not User.objects.get(pk=world.user("resident_a").pk).check_password(NEW_PASSWORD)


def test_expired_code_is_refused(world):
    password_reset.request_sms_reset_code(phone=RESIDENT_PHONE, actor=None)
    code = _code_from_outbox()
    PasswordResetCode.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(DomainError):
        password_reset.reset_password_with_sms_code(
            phone=RESIDENT_PHONE, code=code, new_password=NEW_PASSWORD, actor=None
        )


def test_weak_password_is_refused_but_the_code_stays_usable(client, world):
    client.post(reverse("sms_reset_request"), {"phone": RESIDENT_PHONE})
    code = _code_from_outbox()
    response = client.post(
        reverse("sms_reset_verify"),
        {"phone": RESIDENT_PHONE, "code": code, "new_password1": "12345678", "new_password2": "12345678"},
    )
    assert response.status_code == 200
    assert "new_password1" in response.context["form"].errors
    assert PasswordResetCode.objects.get().used_at is None
    password_reset.reset_password_with_sms_code(phone=RESIDENT_PHONE, code=code, new_password=NEW_PASSWORD, actor=None)


def test_a_new_request_retires_the_old_code_and_requests_are_throttled(world):
    assert password_reset.request_sms_reset_code(phone=RESIDENT_PHONE, actor=None) is True
    first = _code_from_outbox()
    # Straight away again: nothing is sent (flood protection), the first code still works.
    assert password_reset.request_sms_reset_code(phone=RESIDENT_PHONE, actor=None) is False
    assert len(sms.outbox) == 1
    PasswordResetCode.objects.update(created_at=timezone.now() - dt.timedelta(minutes=2))
    assert password_reset.request_sms_reset_code(phone=RESIDENT_PHONE, actor=None) is True
    second = _code_from_outbox()
    if first != second:
        with pytest.raises(DomainError):
            password_reset.reset_password_with_sms_code(
                phone=RESIDENT_PHONE, code=first, new_password=NEW_PASSWORD, actor=None
            )
    password_reset.reset_password_with_sms_code(
        phone=RESIDENT_PHONE, code=second, new_password=NEW_PASSWORD, actor=None
    )


def test_sms_reset_lifts_a_lock_out(client, world):
    for _attempt in range(5):
        client.post(reverse("login"), {"username": RESIDENT_PHONE, "password": "wrong-password"})
    assert client.post(reverse("login"), {"username": RESIDENT_PHONE, "password": PASSWORD}).status_code == 429
    client.post(reverse("sms_reset_request"), {"phone": RESIDENT_PHONE})
    client.post(
        reverse("sms_reset_verify"),
        {
            "phone": RESIDENT_PHONE,
            "code": _code_from_outbox(),
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    response = client.post(reverse("login"), {"username": RESIDENT_PHONE, "password": NEW_PASSWORD})
    assert response.status_code == 302
