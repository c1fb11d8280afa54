"""What every work-order service shares: the refusals, the timeline event, carrying out one
state-machine transition, and who hears about an order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import ConcurrentTransition, can_proceed

from anju.core import audit
from anju.core.errors import Conflict, DomainError, PermissionDenied
from anju.core.models import Role, User
from anju.core.notifications import notify
from anju.core.permissions import staff_with_role
from anju.core.tenancy import scopes_disabled
from anju.workorders.models import WorkOrder, WorkOrderEvent

#: What the refusal says a transition would have done ("you cannot <accept> it now").
ACTION_LABELS: dict[str, Any] = {
    "accept": pgettext_lazy("work order action", "accept"),
    "reject": pgettext_lazy("work order action", "reject"),
    "cancel": pgettext_lazy("work order action", "cancel"),
    "assign": pgettext_lazy("work order action", "dispatch"),
    "transfer": pgettext_lazy("work order action", "transfer"),
    "give_back": pgettext_lazy("work order action", "hand back"),
    "start": pgettext_lazy("work order action", "start work on"),
    "pause": pgettext_lazy("work order action", "pause"),
    "resume": pgettext_lazy("work order action", "resume"),
    "resolve": pgettext_lazy("work order action", "resolve"),
    "confirm": pgettext_lazy("work order action", "confirm"),
    "dispute": pgettext_lazy("work order action", "dispute"),
    "close": pgettext_lazy("work order action", "close"),
    "quote": pgettext_lazy("work order action", "quote"),
    "rate": pgettext_lazy("work order action", "rate"),
    "photo": pgettext_lazy("work order action", "add photos to"),
}


class IllegalTransition(DomainError):
    status = 409
    code = "illegal_transition"
    default_message = _("This work order cannot make that step from its current state.")

    def __init__(self, order: WorkOrder, action: str) -> None:
        super().__init__(
            _("This work order is “%(state)s”: you cannot %(action)s it now.")
            % {"state": order.get_state_display(), "action": ACTION_LABELS.get(action, action)}
        )


def require_step(order: WorkOrder, action: str) -> None:
    """Refuse a step the state machine does not allow from the order's state, before asking who is
    asking: a closed order is closed for everyone. (Conditions, such as a pending quote, are
    checked by the service with their own message.)"""
    if not can_proceed(getattr(order, action), check_conditions=False):
        raise IllegalTransition(order, action)


def record_event(
    order: WorkOrder,
    kind: str,
    *,
    actor: User | None,
    from_state: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
    at: Any = None,
) -> WorkOrderEvent:
    return WorkOrderEvent.objects.create(
        community_id=order.community_id,
        order=order,
        kind=kind,
        from_state=from_state,
        to_state=order.state if from_state else "",
        actor=actor,
        actor_label=(str(actor) if actor is not None else "")[:150],
        note=note,
        data=data or {},
        at=at or timezone.now(),
    )


def _audit_value(value: Any) -> Any:
    return value.pk if hasattr(value, "pk") else value


def apply_transition(
    order: WorkOrder,
    action: str,
    *,
    actor: User | None,
    event: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> WorkOrderEvent:
    """Run the model's transition ``action`` (refused with :class:`IllegalTransition` when the state
    machine does not allow it), apply ``changes``, save — refused with :class:`Conflict` if someone
    else moved the order meanwhile — and write the event and the audit row. Call inside the
    service's transaction."""
    method = getattr(order, action)
    if not can_proceed(method):
        raise IllegalTransition(order, action)
    from_state = order.state
    method()
    changes = dict(changes or {})
    for name, value in changes.items():
        setattr(order, name, value)
    order.updated_at = timezone.now()
    try:
        with transaction.atomic():
            # Only what this step changed: a concurrent sweep's escalation stamp must survive.
            order.save(update_fields=["state", "updated_at", *changes])
    except ConcurrentTransition:
        raise Conflict(_("Someone else changed this work order a moment ago; reload it and try again.")) from None
    audit.record(
        actor=actor,
        action=f"workorders.{action}",
        obj=order,
        before={"state": from_state},
        after={"state": order.state, **{name: audit._jsonable(_audit_value(v)) for name, v in changes.items()}},
    )
    return record_event(order, event, actor=actor, from_state=from_state, note=note, data=data)


def require_text(value: str, field: str, *, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(_("Please fill this in."), code="required", field=field)
    if len(value) > max_length:
        raise DomainError(
            _("At most %(count)d characters, please.") % {"count": max_length}, code="too_long", field=field
        )
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value):
        raise DomainError(_("This text contains control characters."), code="invalid", field=field)
    return value


# --- who is told ----------------------------------------------------------------------------------


def residents_of(order: WorkOrder) -> list[User]:
    """The resident side of an order: whoever reported it, else the accounts of the home's current
    household (an order filed by staff on a resident's behalf)."""
    if order.reporter_id:
        return [order.reporter]  # type: ignore[list-item]
    if not order.home_id:
        return []
    from anju.residents.models import Occupancy

    with scopes_disabled():
        return [
            occupancy.person.user
            for occupancy in Occupancy.objects.current()
            .filter(home_id=order.home_id, person__user__isnull=False)
            .select_related("person__user")
        ]


def resident_may_act(order: WorkOrder, actor: User) -> bool:
    """The reporter, or someone currently living in the order's home."""
    if order.reporter_id == actor.pk:
        return True
    if not order.home_id:
        return False
    from anju.residents.models import Occupancy

    with scopes_disabled():
        return Occupancy.objects.current().filter(home_id=order.home_id, person__user=actor).exists()


def require_resident(order: WorkOrder, actor: User, action: str | None = None) -> None:
    if action is not None:
        require_step(order, action)
    if not resident_may_act(order, actor):
        raise PermissionDenied(_("Only the resident who reported this order, or their household, may do this."))


def dispatchers(community_id: int) -> list[User]:
    return staff_with_role(community_id, Role.MANAGER, Role.CUSTOMER_SERVICE, Role.COMPANY_ADMIN)


def managers(community_id: int) -> list[User]:
    return staff_with_role(community_id, Role.MANAGER) or staff_with_role(community_id, Role.COMPANY_ADMIN)


def tell(
    recipients: Iterable[User | None],
    order: WorkOrder,
    title: Any,
    body: Any = "",
    *,
    kind: str,
    params: dict[str, Any] | None = None,
    sms: bool = False,
    staff: bool = True,
) -> None:
    """An in-app notification about ``order``, in Chinese (the product's language): ``title`` and
    ``body`` are lazy msgids formatted with ``params`` (plus ``number``) under zh-hans. Staff get the
    console link, residents the portal one."""
    from django.urls import reverse

    people = [user for user in recipients if user is not None]
    if not people:
        return
    if staff:
        url = reverse("console:workorders_detail", args=[order.community_id, order.pk])
    else:
        url = reverse("portal:workorders_detail", args=[order.pk])
    values = {"number": order.number, **(params or {})}
    with translation.override("zh-hans"):
        notify(
            people,
            kind=f"workorders.{kind}",
            title=str(title) % values,
            body=str(body) % values if body else "",
            url=url,
            community_id=order.community_id,
            sms=sms,
        )
