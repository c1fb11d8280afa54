"""Choosing a new password: by SMS code (residents), after an e-mailed link (staff), or on the profile page.

Residents log in with their mobile number and rarely have e-mail, so they reset by a 6-digit code sent
by SMS. The code is kept only as a keyed digest (a database leak does not reveal live codes), lives
10 minutes, and allows at most 5 wrong guesses; a new request replaces the old code. Asking for a
code answers the same whether or not the number has an account, so the form cannot be used to find
out who lives here, and at most a few messages per hour go to one number, so it cannot be used to
flood someone's phone either.

Every password change is audited (without the password) and clears django-axes' failed log-ins for
the account, so a resident who was locked out and then proved who they are can log in at once.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.crypto import blind_index
from anju.core.errors import DomainError
from anju.core.models import PasswordResetCode, User
from anju.core.sms import send_sms
from anju.core.validators import normalize_phone

CODE_DIGITS = 6
CODE_LIFETIME = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5
# Flood protection for one number: a pause between messages and a cap per hour.
RESEND_INTERVAL = dt.timedelta(seconds=60)
MAX_CODES_PER_HOUR = 5


def _code_digest(user: User, code: str) -> str:
    # Keyed by SECRET_KEY and bound to the user, so a copied digest is useless for another account
    # and a 6-digit code cannot be recovered from the table by trying all million values offline.
    return salted_hmac("anju.password_reset.sms", f"{user.pk}:{code}", algorithm="sha256").hexdigest()


def _user_for_phone(phone: str) -> User | None:
    number = normalize_phone(phone)
    if not (number.isdigit() and len(number) == 11):
        return None
    return User.objects.filter(phone_index=blind_index(number, purpose="phone"), is_active=True).first()


def _forget_failed_logins(user: User, *login_names: str) -> None:
    """Clear django-axes' lock-out records for the names this user logs in with (the user name and,
    for residents, the mobile number as they type it)."""
    from axes.utils import reset

    for name in {user.username, *login_names}:
        if name:
            reset(username=name)


def _invalid_code_error() -> DomainError:
    return DomainError(
        _("The code is wrong or has expired. Ask for a new code and try again."), code="invalid_code", field="code"
    )


def _validate_new_password(new_password: str, user: User) -> None:
    try:
        password_validation.validate_password(new_password, user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), code="weak_password", field="new_password") from None


@transaction.atomic
def request_sms_reset_code(*, phone: str, actor: User | None) -> bool:
    """Send a reset code to ``phone`` if it belongs to an active account.

    Returns whether a message was sent; callers show the same page either way (the return value is
    for tests and logs, never for the person asking).
    """
    user = _user_for_phone(phone)
    if user is None:
        return False
    now = timezone.now()
    recent = PasswordResetCode.objects.filter(user=user, created_at__gte=now - dt.timedelta(hours=1))
    latest = recent.order_by("-created_at").first()
    if latest is not None and (latest.created_at > now - RESEND_INTERVAL or recent.count() >= MAX_CODES_PER_HOUR):
        return False
    # Only the newest code works: earlier ones are retired so a stale SMS cannot be used.
    PasswordResetCode.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    reset_code = PasswordResetCode.objects.create(
        user=user, code_digest=_code_digest(user, code), created_at=now, expires_at=now + CODE_LIFETIME
    )
    audit.record(
        actor=actor or user,
        action="password_reset.sms_code_sent",
        obj=user,
        after={"code_id": reset_code.pk, "expires_at": reset_code.expires_at.isoformat()},
    )
    number = normalize_phone(phone)
    body = _("Your anju verification code is %(code)s. It is valid for %(minutes)d minutes. Do not share it.") % {
        "code": code,
        "minutes": int(CODE_LIFETIME.total_seconds() // 60),
    }
    transaction.on_commit(lambda: send_sms(number, body))
    return True


def reset_password_with_sms_code(*, phone: str, code: str, new_password: str, actor: User | None) -> User:
    """Set a new password for the account behind ``phone`` if ``code`` is its live reset code.

    A wrong code counts against the code's attempts (and is audited) even though the call fails, so
    the count is saved in its own transaction before the refusal is raised.
    """
    user = _user_for_phone(phone)
    if user is None:
        raise _invalid_code_error()
    wrong_code = False
    with transaction.atomic():
        now = timezone.now()
        reset_code = (
            PasswordResetCode.objects.select_for_update()
            .filter(user=user, used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at")
            .first()
        )
        if reset_code is None or reset_code.attempts >= MAX_ATTEMPTS:
            wrong_code = True
        elif not constant_time_compare(reset_code.code_digest, _code_digest(user, code.strip())):
            reset_code.attempts += 1
            reset_code.save(update_fields=["attempts"])
            audit.record(
                actor=actor or user,
                action="password_reset.sms_wrong_code",
                obj=user,
                after={"code_id": reset_code.pk, "attempts": reset_code.attempts},
            )
            wrong_code = True
        else:
            # The right code with a weak password keeps the code usable: the person only retypes.
            _validate_new_password(new_password, user)
            user.set_password(new_password)
            user.save(update_fields=["password"])
            reset_code.used_at = now
            reset_code.save(update_fields=["used_at"])
            audit.record(actor=actor or user, action="user.password_reset", obj=user, after={"method": "sms"})
            typed = phone.strip()
            transaction.on_commit(lambda: _forget_failed_logins(user, typed, normalize_phone(typed)))
    if wrong_code:
        raise _invalid_code_error()
    return user


@transaction.atomic
def set_password_after_email_reset(user: User, *, new_password: str, actor: User | None) -> User:
    """The write behind Django's e-mailed reset link (the link's token has already been checked)."""
    _validate_new_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit.record(actor=actor or user, action="user.password_reset", obj=user, after={"method": "email"})
    transaction.on_commit(lambda: _forget_failed_logins(user))
    return user


@transaction.atomic
def change_password(user: User, *, old_password: str, new_password: str, actor: User) -> User:
    """A logged-in user replaces their password, proving they know the current one."""
    if actor.pk != user.pk:
        raise DomainError(_("Only the account holder can change this password."), code="forbidden")
    if not user.check_password(old_password):
        raise DomainError(_("The current password is not correct."), code="wrong_password", field="old_password")
    _validate_new_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit.record(actor=actor, action="user.password_change", obj=user, after={"method": "profile"})
    return user
