"""Forms for logging in and for choosing a new password. They collect and check input; the writes
happen in :mod:`anju.core.password_reset`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from anju.core import password_reset
from anju.core.errors import DomainError
from anju.core.models import User
from anju.core.validators import validate_mobile
from anju.web.forms import add_domain_error


class LoginForm(AuthenticationForm):
    """One field for both kinds of user: staff type their user name, residents their mobile number."""

    username = forms.CharField(
        label=_("User name or mobile number"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The user name, mobile number or password is not correct. Please try again."),
    }


def _new_password_fields() -> tuple[forms.CharField, forms.CharField]:
    return (
        forms.CharField(
            label=_("New password"),
            strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
            help_text=password_validation.password_validators_help_text_html(),
        ),
        forms.CharField(
            label=_("New password again"),
            strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        ),
    )


class _NewPasswordMixin(forms.Form):
    def clean_new_password2(self) -> str:
        first = self.cleaned_data.get("new_password1")
        second: str = self.cleaned_data.get("new_password2", "")
        if first and second and first != second:
            raise ValidationError(_("The two passwords are not the same."), code="password_mismatch")
        return second


class SmsResetRequestForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "autofocus": True}),
    )

    def clean_phone(self) -> str:
        return validate_mobile(self.cleaned_data["phone"])


class SmsResetVerifyForm(_NewPasswordMixin):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    code = forms.CharField(
        label=_("Code from the SMS"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}),
    )
    new_password1, new_password2 = _new_password_fields()

    def clean_phone(self) -> str:
        return validate_mobile(self.cleaned_data["phone"])

    def save(self, *, actor: User | None) -> User | None:
        """Ask the service to set the password; on refusal attach its reason to the form and return None."""
        try:
            return password_reset.reset_password_with_sms_code(
                phone=self.cleaned_data["phone"],
                code=self.cleaned_data["code"],
                new_password=self.cleaned_data["new_password1"],
                actor=actor,
            )
        except DomainError as exc:
            if exc.field == "new_password":
                exc.field = "new_password1"
            add_domain_error(self, exc)
            return None


class EmailResetSetPasswordForm(SetPasswordForm):
    """Django's form behind the e-mailed link, writing through the audited service."""

    def save(self, commit: bool = True) -> Any:
        return password_reset.set_password_after_email_reset(
            self.user, new_password=self.cleaned_data["new_password1"], actor=None
        )


class ChangePasswordForm(_NewPasswordMixin):
    old_password = forms.CharField(
        label=_("Current password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password1, new_password2 = _new_password_fields()

    field_order = ["old_password", "new_password1", "new_password2"]

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def save(self) -> User | None:
        try:
            return password_reset.change_password(
                self.user,
                old_password=self.cleaned_data["old_password"],
                new_password=self.cleaned_data["new_password1"],
                actor=self.user,
            )
        except DomainError as exc:
            if exc.field == "new_password":
                exc.field = "new_password1"
            add_domain_error(self, exc)
            return None
