"""Resetting a forgotten password: staff by an e-mailed link (Django's views), residents by SMS code.

Both paths answer "if the account exists, we have sent…" whether or not it does, so neither form
tells a stranger who has an account.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from anju.core import password_reset
from anju.web.auth_forms import EmailResetSetPasswordForm, SmsResetRequestForm, SmsResetVerifyForm

_SESSION_PHONE = "anju_sms_reset_phone"

email_reset_request = auth_views.PasswordResetView.as_view(
    template_name="web/password_reset_form.html",
    email_template_name="web/email/password_reset.txt",
    subject_template_name="web/email/password_reset_subject.txt",
    success_url=reverse_lazy("password_reset_done"),
)
email_reset_sent = auth_views.PasswordResetDoneView.as_view(template_name="web/password_reset_done.html")
email_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="web/password_reset_confirm.html",
    form_class=EmailResetSetPasswordForm,
    success_url=reverse_lazy("password_reset_complete"),
)
email_reset_complete = auth_views.PasswordResetCompleteView.as_view(template_name="web/password_reset_complete.html")


@require_http_methods(["GET", "POST"])
def sms_reset_request(request: HttpRequest) -> HttpResponse:
    form = SmsResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        password_reset.request_sms_reset_code(phone=phone, actor=None)
        # Remembered so the next page can fill it in; never put in the URL, where logs would keep it.
        request.session[_SESSION_PHONE] = phone
        messages.info(
            request,
            _("If this number belongs to an account, a 6-digit code is on its way by SMS. It is valid for 10 minutes."),
        )
        return redirect("sms_reset_verify")
    return render(request, "web/sms_reset_request.html", {"form": form})


@require_http_methods(["GET", "POST"])
def sms_reset_verify(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SmsResetVerifyForm(request.POST)
        if form.is_valid() and form.save(actor=None) is not None:
            request.session.pop(_SESSION_PHONE, None)
            messages.success(request, _("Your password has been changed. You can log in with it now."))
            return redirect("login")
    else:
        form = SmsResetVerifyForm(initial={"phone": request.session.get(_SESSION_PHONE, "")})
    return render(request, "web/sms_reset_verify.html", {"form": form})
