"""Model signals that make cached permissions stale (see :func:`anju.core.permissions.invalidate_access`).

Every row an :class:`~anju.core.permissions.Access` is computed from is listed here, so a change made
through a service, the admin or a shell takes effect on the user's next request. Bulk writes send no
signals; the code that bulk-writes these models calls ``invalidate_access()`` itself. Saving or
deleting a user replaces that user's cached account (:func:`anju.core.auth.invalidate_user`).
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save

from anju.core.permissions import invalidate_access

ACCESS_SOURCES = (
    "core.Membership",
    "core.Organization",
    "core.District",
    "estates.ServiceContract",
    "estates.Community",
    "residents.Occupancy",
    "residents.Person",
)


def _changed(**_kwargs: Any) -> None:
    invalidate_access()


def _user_changed(instance: Any, **_kwargs: Any) -> None:
    from anju.core.auth import invalidate_user

    invalidate_user(instance.pk)


def connect() -> None:
    from django.apps import apps

    for label in ACCESS_SOURCES:
        model = apps.get_model(label)
        post_save.connect(_changed, sender=model, dispatch_uid=f"anju-access-save-{label}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"anju-access-delete-{label}")
    from anju.core.models import Membership, Organization, User

    post_save.connect(_user_changed, sender=User, dispatch_uid="anju-user-save")
    post_delete.connect(_user_changed, sender=User, dispatch_uid="anju-user-delete")

    for through in (Membership.communities.through, Organization.districts.through):
        m2m_changed.connect(_changed, sender=through, dispatch_uid=f"anju-access-m2m-{through._meta.label}")
