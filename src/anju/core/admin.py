"""Operator admin. Tenant data is edited through the console (services, audit); the admin is for
platform operators and shows the audit log read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from anju.core.models import ApiToken, AuditEntry, District, Membership, Organization, User


@admin.register(User)
class AnjuUserAdmin(UserAdmin):
    list_display = ("username", "display_name", "phone_masked", "is_active", "is_staff", "last_login")
    search_fields = ("username", "display_name")
    readonly_fields = ("phone_masked",)
    fieldsets = (*UserAdmin.fieldsets, ("anju", {"fields": ("display_name", "phone_masked", "language")}))  # type: ignore[misc]


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "parent")
    search_fields = ("code", "name")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "credit_code")
    list_filter = ("kind",)
    search_fields = ("name",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role", "starts_on", "ends_on")
    list_filter = ("role",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "kind", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "object_type", "object_label", "community_id")
    list_filter = ("action",)
    search_fields = ("actor_label", "object_label", "action")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
