"""Paying an approved refund out: through the payment's provider, or at the counter.

States after approval (``approved``)::

    approved ──submit──▶ submitted ──provider confirms──▶ succeeded
        │                   │  ▲  └──provider refuses────▶ failed ──retry──▶ submitted
        │                   └──┘ no answer: stays submitted (retry is safe)
        └── counter payment: clerk records the pay-out ──▶ succeeded   (also from failed)

* **Submitting** claims the refund with a conditional UPDATE (``approved``/``submitted``/``failed`` →
  ``submitted``) in its own short transaction and only then calls the provider, outside any
  transaction. The request carries the refund's ``out_refund_no``, fixed at approval: the provider
  refunds one number once, so a retry after a timeout (or two finance clicks at once) can at worst
  ask again about the same refund, never pay it twice.
* **No answer** (unreachable, timed out, an answer that does not verify) is not a failure: the money
  may have moved. The refund stays ``submitted`` with the reason noted; a retry, or the provider's
  notification, settles it.
* **Success** (:func:`complete_refund`) is one conditional UPDATE to ``succeeded`` plus the pay-out
  ledger entry (idempotent key ``refund-paid:<id>``): however many confirmations arrive (the answer
  to the request, then the notification, then a retry's answer), exactly one posts.
* **A refusal** (the provider said no, or closed the refund) marks it ``failed`` with the provider's
  reason for finance to see. Finance can retry (same refund number) or, when the provider will not
  pay it back (a WeChat refund that is ``CLOSED`` or ``ABNORMAL`` stays so under its number), pay
  it out at the counter instead. A counter pay-out is never allowed while the refund is
  ``submitted``: the provider might still pay it.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from anju.billing.payments import ledger_bridge
from anju.billing.payments.models import COUNTER_METHODS, PaymentOrder, Refund
from anju.billing.payments.providers import ProviderError, RefundOutcome, RefundRequest, get_provider
from anju.core import audit
from anju.core.errors import Conflict, DomainError
from anju.core.models import User
from anju.core.notifications import notify
from anju.core.periodic import after_commit, background
from anju.core.tenancy import community_scope, scopes_disabled

logger = logging.getLogger(__name__)
SUBMITTABLE = (Refund.Status.APPROVED, Refund.Status.SUBMITTED, Refund.Status.FAILED)
COMPLETABLE = (Refund.Status.APPROVED, Refund.Status.SUBMITTED, Refund.Status.FAILED)


def submit_after_commit(refund_id: int, *, actor: User | None) -> None:
    """Submit the refund to its provider once the approval is committed (never inside it): inline
    right after the commit, or as a Celery task where Celery runs."""
    after_commit(submit_approved_refund, refund_id, actor.pk if actor is not None else None)


@background
def submit_approved_refund(refund_id: int, actor_id: int | None = None) -> None:
    try:
        with scopes_disabled():
            refund = Refund.objects.select_related("order").get(pk=refund_id)
        if refund.status == Refund.Status.APPROVED:  # not already sent by someone else
            actor = User.objects.filter(pk=actor_id).first() if actor_id else None
            submit_refund(refund, actor=actor)
    except Exception:  # the approval stands; the refund waits in "approved" for a retry
        logger.exception("submitting refund %s failed", refund_id)


def _claim(refund: Refund, *, actor: User | None) -> None:
    with transaction.atomic():
        if not refund.order.is_online or not refund.out_refund_no:
            raise Conflict(_("This refund is paid out at the counter, not through a payment service."))
        claimed = Refund.objects.filter(pk=refund.pk, status__in=SUBMITTABLE).update(
            status=Refund.Status.SUBMITTED, submitted_at=timezone.now(), attempts=F("attempts") + 1
        )
        if claimed != 1:
            raise Conflict(_("This refund is not waiting to be sent to the payment service."))
        refund.refresh_from_db()
        audit.record(
            actor=actor,
            action="refund.submit",
            obj=refund,
            after={"out_refund_no": refund.out_refund_no, "attempt": refund.attempts},
        )


def submit_refund(refund: Refund, *, actor: User | None) -> Refund:
    """Ask the payment's provider to pay the refund back (see the module docstring); returns the
    refund as it stands afterwards. Safe to repeat: the provider refunds one refund number once."""
    refund.refresh_from_db()
    order = refund.order
    with community_scope(refund.community_id):
        _claim(refund, actor=actor)
        provider = get_provider(order.method)
        if provider is None:
            _fail(refund, reason="provider not configured", actor=actor)
            refund.refresh_from_db()
            return refund
        try:
            result = provider.refund(
                RefundRequest(
                    trade_no=order.trade_no,
                    out_refund_no=refund.out_refund_no or "",
                    amount_fen=refund.amount_fen,
                    total_fen=order.amount_fen,
                    reason=refund.reason,
                    provider_txn_id=order.provider_txn_id,
                )
            )
        except ProviderError as exc:
            # Unknown outcome: keep it submitted (a retry asks about the same refund number).
            _note_pending(refund, failure_reason=f"no answer: {exc}", provider_refund_id="", actor=actor)
        else:
            if result.outcome == RefundOutcome.SUCCEEDED:
                complete_refund(refund, provider_refund_id=result.provider_refund_id, actor=actor)
            elif result.outcome == RefundOutcome.FAILED:
                _fail(refund, reason=result.reason or "refused", actor=actor)
            else:
                _note_pending(refund, failure_reason="", provider_refund_id=result.provider_refund_id, actor=actor)
    refund.refresh_from_db()
    return refund


@transaction.atomic
def _note_pending(refund: Refund, *, failure_reason: str, provider_refund_id: str, actor: User | None) -> None:
    """Still submitted: the provider is processing it, or did not answer (``failure_reason``)."""
    fields: dict[str, str] = {"failure_reason": failure_reason[:200]}
    if provider_refund_id:
        fields["payout_reference"] = provider_refund_id[:100]
    if Refund.objects.filter(pk=refund.pk, status=Refund.Status.SUBMITTED).update(**fields):
        action = "refund.no_answer" if failure_reason else "refund.processing"
        audit.record(actor=actor, action=action, obj=refund, after=fields)


@transaction.atomic
def _fail(refund: Refund, *, reason: str, actor: User | None) -> bool:
    changed = Refund.objects.filter(pk=refund.pk, status=Refund.Status.SUBMITTED).update(
        status=Refund.Status.FAILED, failure_reason=reason[:200]
    )
    if changed:
        audit.record(actor=actor, action="refund.failed", obj=refund, after={"reason": reason[:200]})
    return bool(changed)


def mark_failed(refund: Refund, *, reason: str, actor: User | None) -> bool:
    """The provider reported the refund failed (a notification): ``submitted`` → ``failed``."""
    return _fail(refund, reason=reason, actor=actor)


@transaction.atomic
def complete_refund(refund: Refund, *, provider_refund_id: str, actor: User | None) -> bool:
    """The provider paid the refund back: mark it ``succeeded`` and post the pay-out, exactly once.
    False when it was already paid out (or never approved)."""
    order = refund.order
    claimed = Refund.objects.filter(pk=refund.pk, status__in=COMPLETABLE).update(
        status=Refund.Status.SUCCEEDED,
        paid_out_at=timezone.now(),
        payout_method=order.method,
        payout_reference=provider_refund_id[:100],
        failure_reason="",
    )
    if claimed != 1:
        return False
    refund.refresh_from_db()
    ledger_bridge.post_refund_payout(refund, method=order.method, actor=actor)
    audit.record(
        actor=actor,
        action="refund.succeeded",
        obj=refund,
        after={"method": order.method, "provider_refund_id": provider_refund_id[:100]},
    )
    _tell_payer(refund, order)
    return True


@transaction.atomic
def record_counter_payout(refund: Refund, *, method: str, reference: str = "", actor: User) -> Refund:
    """A clerk paid the refund out in cash, by transfer or on the card terminal."""
    if method not in COUNTER_METHODS:
        raise DomainError(_("Unknown payment method."), field="method")
    reference = reference.strip()
    if method != "cash" and not reference:
        raise DomainError(_("Enter the transfer or terminal reference."), field="reference")
    allowed = [Refund.Status.FAILED]
    if not refund.order.is_online:
        allowed.append(Refund.Status.APPROVED)
    claimed = Refund.objects.filter(pk=refund.pk, status__in=allowed).update(
        status=Refund.Status.SUCCEEDED,
        paid_out_at=timezone.now(),
        paid_out_by=actor,
        payout_method=method,
        payout_reference=reference[:100],
    )
    if claimed != 1:
        raise Conflict(_("Only an approved counter refund, or one the payment service refused, is paid out here."))
    refund.refresh_from_db()
    ledger_bridge.post_refund_payout(refund, method=method, actor=actor)
    audit.record(
        actor=actor, action="refund.paid_out", obj=refund, after={"method": method, "reference": reference[:100]}
    )
    _tell_payer(refund, refund.order)
    return refund


def _tell_payer(refund: Refund, order: PaymentOrder) -> None:
    if order.payer is None:
        return
    with translation.override("zh-hans"):
        notify(
            [order.payer],
            kind="payment",
            title=_("Refund paid: ¥%(amount)s") % {"amount": ledger_bridge.yuan(refund.amount_fen)},
            body=_("Your refund on payment %(trade_no)s has been paid back.") % {"trade_no": order.trade_no},
            url=reverse("portal:payments_order", args=[order.trade_no]),
            community_id=order.community_id,
        )
