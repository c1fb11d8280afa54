"""Refund notifications (WeChat Pay's REFUND.*): stored raw first, verified, applied exactly once.

The same pattern as payment callbacks (:mod:`~anju.billing.payments.services.callbacks`):

1. the request is committed as received (``RawCallback`` of kind ``refund``) before anything in it
   is believed;
2. the provider verifies and decrypts it; a refusal (bad signature, wrong key, stale, undecryptable)
   marks it ``refused`` and nothing changes;
3. it must name a refund we sent to this provider (``out_refund_no``) for exactly that refund's
   amount and payment; otherwise it is ``held`` for a person to review and changes nothing;
4. success completes the refund through :func:`~.refund_payouts.complete_refund` — one conditional
   UPDATE, so of any number of identical notifications one is ``applied`` and the rest are
   ``duplicate``; a failure marks a submitted refund ``failed``. A success for a refund already paid
   out at the counter is held: the payer may have been paid twice, a person must look.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from anju.billing.payments.models import RawCallback, Refund
from anju.billing.payments.providers import (
    Acknowledgement,
    CallbackRefused,
    RefundNotifier,
    RefundOutcome,
    get_provider,
)
from anju.billing.payments.services.callbacks import mark_callback, store_raw_callback
from anju.billing.payments.services.refund_payouts import complete_refund, mark_failed
from anju.core.tenancy import community_scope, scopes_disabled

logger = logging.getLogger(__name__)


def process_refund_callback(raw: RawCallback) -> bool:
    """Verify and apply one stored refund notification; True when the provider may be told it was
    received (held ones too: re-sending would not change what a person has to do)."""
    provider = get_provider(raw.provider)
    if not isinstance(provider, RefundNotifier):
        mark_callback(raw, RawCallback.Outcome.REFUSED, "unknown_provider")
        return False
    try:
        notification = provider.parse_refund_callback(raw.headers, bytes(raw.body))
    except CallbackRefused as exc:
        mark_callback(raw, RawCallback.Outcome.REFUSED, exc.reason)
        return False
    except Exception:  # a provider bug must not turn a stored notification into a server error
        logger.exception("payment provider %s could not parse refund callback %s", raw.provider, raw.pk)
        mark_callback(raw, RawCallback.Outcome.REFUSED, "unparseable")
        return False
    with scopes_disabled():
        refund = Refund.objects.filter(out_refund_no=notification.out_refund_no).select_related("order").first()
    if refund is None:
        mark_callback(
            raw,
            RawCallback.Outcome.HELD,
            "unknown_refund",
            trade_no=(notification.trade_no or notification.out_refund_no)[:64],
            amount_fen=notification.amount_fen,
        )
        return True
    order = refund.order
    details = {
        "trade_no": order.trade_no,
        "amount_fen": notification.amount_fen,
        "community_id": refund.community_id,
        "order_id": order.pk,
        "refund_id": refund.pk,
    }
    if order.method != raw.provider or (notification.trade_no and notification.trade_no != order.trade_no):
        mark_callback(raw, RawCallback.Outcome.HELD, "wrong_payment", **details)
        return True
    if notification.amount_fen != refund.amount_fen:
        mark_callback(raw, RawCallback.Outcome.HELD, "amount_mismatch", **details)
        return True
    with community_scope(refund.community_id):
        if notification.outcome == RefundOutcome.PROCESSING:
            mark_callback(raw, RawCallback.Outcome.IGNORED, "processing", **details)
        elif notification.outcome == RefundOutcome.FAILED:
            changed = mark_failed(refund, reason=notification.reason or "refused", actor=None)
            outcome = RawCallback.Outcome.APPLIED if changed else RawCallback.Outcome.DUPLICATE
            mark_callback(raw, outcome, "failed", **details)
        elif complete_refund(refund, provider_refund_id=notification.provider_refund_id, actor=None):
            mark_callback(raw, RawCallback.Outcome.APPLIED, "", **details)
        else:
            refund.refresh_from_db()
            if refund.status == Refund.Status.SUCCEEDED and refund.payout_method == order.method:
                mark_callback(raw, RawCallback.Outcome.DUPLICATE, "already_refunded", **details)
            else:
                mark_callback(raw, RawCallback.Outcome.HELD, "already_paid_out", **details)
    return True


def receive_refund_callback(
    provider_code: str, headers: Mapping[str, str], body: bytes, remote_addr: str = ""
) -> Acknowledgement:
    """The whole path for one incoming refund notification; returns what to answer the provider."""
    raw = store_raw_callback(provider_code, headers, body, remote_addr, kind=RawCallback.Kind.REFUND)
    ok = process_refund_callback(raw)
    provider = get_provider(provider_code)
    if provider is None:
        return Acknowledgement(404, "application/json", b'{"code":"FAIL","message":"unknown provider"}')
    return provider.acknowledge(ok)
