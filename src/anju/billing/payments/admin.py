"""Operator admin: the raw provider notifications, read-only. Callbacks for an unknown trade number
belong to no community, so only a platform operator can look at them; money is never moved here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from anju.billing.payments.models import RawCallback


@admin.register(RawCallback)
class RawCallbackAdmin(admin.ModelAdmin):
    list_display = ("received_at", "provider", "outcome", "reason", "trade_no", "amount_fen", "community")
    list_filter = ("provider", "outcome")
    search_fields = ("trade_no",)
    readonly_fields = [field.name for field in RawCallback._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
