"""Turning service errors into form errors, so a page shows what the service refused and why."""

from __future__ import annotations

from django import forms

from anju.core.errors import DomainError


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Attach ``exc`` to the form field it names (or to the whole form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))
