"""Public endpoints: the payment providers' notification hook and the receipt verification page.

Neither needs a login; each proves itself: the hook by the provider's signature (checked in the
services after the raw request is stored), the verification page by the receipt number together
with the random code printed in the receipt's QR code.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from anju.billing.payments.labels import method_label, yuan
from anju.billing.payments.services.callbacks import receive_callback
from anju.billing.payments.services.receipts import find_receipt, receipt_intact
from anju.billing.payments.services.refund_callbacks import receive_refund_callback


@csrf_exempt
@require_POST
def hook(request: HttpRequest, provider: str) -> HttpResponse:
    """A provider's asynchronous notification: stored raw, then verified and applied exactly once."""
    ack = receive_callback(
        provider[:20], dict(request.headers), request.body, remote_addr=request.META.get("REMOTE_ADDR", "")
    )
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)


@csrf_exempt
@require_POST
def refund_hook(request: HttpRequest, provider: str) -> HttpResponse:
    """A provider's refund notification: stored raw, then verified and applied exactly once."""
    ack = receive_refund_callback(
        provider[:20], dict(request.headers), request.body, remote_addr=request.META.get("REMOTE_ADDR", "")
    )
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)


def verify_receipt(request: HttpRequest) -> HttpResponse:
    """``?no=<receipt number>&code=<code>``: the stored receipt and whether it is intact; 404 (with
    a form to type both in) when they do not match a receipt."""
    number = (request.GET.get("no") or request.POST.get("no") or "").strip()
    code = (request.GET.get("code") or request.POST.get("code") or "").strip()
    receipt = find_receipt(number, code)
    if receipt is None:
        return render(
            request,
            "payments/verify_receipt.html",
            {"receipt": None, "number": number[:40], "tried": bool(number)},
            status=404,
        )
    content = receipt.content
    return render(
        request,
        "payments/verify_receipt.html",
        {
            "receipt": receipt,
            "intact": receipt_intact(receipt),
            "content": content,
            "amount": yuan(content.get("amount_fen", 0)),
            "method": method_label(content.get("method", "")),
            "lines": [(line["period"], yuan(line["amount_fen"])) for line in content.get("lines", [])],
        },
    )
