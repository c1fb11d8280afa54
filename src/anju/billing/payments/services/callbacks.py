"""Provider callbacks: stored raw first, then verified, then applied exactly once by trade number.

:func:`receive_callback` is what the public hook (and the sandbox cashier) calls:

1. :func:`store_raw_callback` commits the request exactly as received — headers, body, sender — in
   its own transaction, before anything in it is believed. Whatever happens next, it can be looked at.
2. The provider verifies it (signature, timestamp, decryption). A refusal marks the row ``refused``
   and answers the provider with a failure; nothing is posted.
3. The trade number is looked up. Unknown order, or an amount different from the order's: the row is
   ``held`` for a person to review (``resolve_callback``); it never posts. A notification that says
   the payment did not succeed is ``ignored``.
4. Otherwise :func:`~anju.billing.payments.services.payments.settle_order` claims the order with a
   conditional UPDATE; exactly one of any number of identical callbacks wins (``applied``), the rest
   are ``duplicate``. Both are acknowledged as received, so the provider stops re-sending.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.billing.payments.models import PaymentOrder, RawCallback
from anju.billing.payments.providers import Acknowledgement, CallbackRefused, get_provider
from anju.billing.payments.services.payments import settle_order
from anju.core import audit
from anju.core.errors import Conflict, DomainError
from anju.core.models import User
from anju.core.tenancy import community_scope, scopes_disabled

logger = logging.getLogger(__name__)
MAX_CALLBACK_BYTES = 64 * 1024
KEPT_HEADERS = ("content-type", "user-agent", "wechatpay-", "x-anju-", "request-id")


def _kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        key: str(value)[:2000]
        for key, value in headers.items()
        if any(key.lower().startswith(prefix) for prefix in KEPT_HEADERS)
    }


def store_raw_callback(
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    remote_addr: str = "",
    *,
    kind: str = RawCallback.Kind.PAYMENT,
) -> RawCallback:
    """Commit the raw request at once (its own transaction even inside another)."""
    with transaction.atomic():
        return RawCallback.objects.create(
            provider=provider[:20],
            kind=kind,
            headers=_kept_headers(headers),
            body=bytes(body[:MAX_CALLBACK_BYTES]),
            remote_addr=remote_addr[:64],
        )


def mark_callback(raw: RawCallback, outcome: str, reason: str = "", **fields: object) -> None:
    raw.outcome = outcome
    raw.reason = reason[:60]
    for key, value in fields.items():
        setattr(raw, key, value)
    RawCallback.objects.filter(pk=raw.pk).update(outcome=outcome, reason=raw.reason, **fields)


def process_callback(raw: RawCallback) -> bool:
    """Verify and apply one stored callback; True when the provider may be told it was received."""
    provider = get_provider(raw.provider)
    if provider is None:
        mark_callback(raw, RawCallback.Outcome.REFUSED, "unknown_provider")
        return False
    try:
        notification = provider.parse_callback(raw.headers, bytes(raw.body))
    except CallbackRefused as exc:
        mark_callback(raw, RawCallback.Outcome.REFUSED, exc.reason)
        return False
    except Exception:  # a provider bug must not turn a stored notification into a server error
        logger.exception("payment provider %s could not parse callback %s", raw.provider, raw.pk)
        mark_callback(raw, RawCallback.Outcome.REFUSED, "unparseable")
        return False
    with scopes_disabled():
        order = PaymentOrder.objects.filter(trade_no=notification.trade_no).first()
    if order is None:
        mark_callback(
            raw,
            RawCallback.Outcome.HELD,
            "unknown_order",
            trade_no=notification.trade_no[:64],
            amount_fen=notification.amount_fen,
        )
        return True
    details = {
        "trade_no": order.trade_no,
        "amount_fen": notification.amount_fen,
        "community_id": order.community_id,
        "order_id": order.pk,
    }
    if order.method != raw.provider:
        mark_callback(raw, RawCallback.Outcome.HELD, "wrong_provider", **details)
        return True
    if not notification.succeeded:
        mark_callback(raw, RawCallback.Outcome.IGNORED, "not_successful", **details)
        return True
    if notification.amount_fen != order.amount_fen:
        mark_callback(raw, RawCallback.Outcome.HELD, "amount_mismatch", **details)
        return True
    with community_scope(order.community_id):
        with transaction.atomic():
            applied = settle_order(
                order,
                paid_at=notification.paid_at or timezone.now(),
                provider_txn_id=notification.provider_txn_id,
                actor=None,
            )
            if applied:
                mark_callback(raw, RawCallback.Outcome.APPLIED, "", **details)
        if not applied:
            status = PaymentOrder.objects.filter(pk=order.pk).values_list("status", flat=True).first()
            if status == PaymentOrder.Status.PAID:
                mark_callback(raw, RawCallback.Outcome.DUPLICATE, "already_paid", **details)
            else:
                mark_callback(raw, RawCallback.Outcome.HELD, "order_closed", **details)
    return True


def receive_callback(
    provider_code: str, headers: Mapping[str, str], body: bytes, remote_addr: str = ""
) -> Acknowledgement:
    """The whole path for one incoming notification; returns what to answer the provider."""
    raw = store_raw_callback(provider_code, headers, body, remote_addr)
    ok = process_callback(raw)
    provider = get_provider(provider_code)
    if provider is None:
        return Acknowledgement(404, "application/json", b'{"code":"FAIL","message":"unknown provider"}')
    return provider.acknowledge(ok)


@transaction.atomic
def resolve_callback(raw: RawCallback, *, note: str, actor: User) -> RawCallback:
    """A person looked at a held callback (and dealt with the money outside: refunded it at the
    provider, or took it as a counter payment). Records who and why; never posts anything itself."""
    if raw.outcome != RawCallback.Outcome.HELD:
        raise Conflict(_("Only held callbacks need review."))
    note = note.strip()
    if not note:
        raise DomainError(_("Say what was done about it."), field="note")
    RawCallback.objects.filter(pk=raw.pk).update(
        outcome=RawCallback.Outcome.RESOLVED, reviewed_by=actor, review_note=note[:200]
    )
    audit.record(
        actor=actor,
        action="payment.callback_resolved",
        object_type="payments.rawcallback",
        object_id=str(raw.pk),
        object_label=raw.trade_no or str(raw.pk),
        community_id=raw.community_id,
        before={"outcome": raw.outcome, "reason": raw.reason},
        after={"outcome": RawCallback.Outcome.RESOLVED, "note": note[:200]},
    )
    raw.refresh_from_db()
    return raw
