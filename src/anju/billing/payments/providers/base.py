"""What every payment provider offers the rest of anju, whatever its wire format.

A provider does three things:

* :meth:`Provider.start` — ask the provider to open a checkout for one :class:`Checkout` (a trade
  number and an amount in fen) and say where the payer goes next (a QR code URL, a redirect URL or
  our own sandbox page);
* :meth:`Provider.parse_callback` — turn the raw bytes of an asynchronous notification into a
  :class:`Notification`, after checking its signature (and decrypting it where the provider encrypts
  it). Anything that does not verify raises :class:`CallbackRefused`; the caller has already stored
  the raw request, so nothing is lost and someone can look at it;
* :meth:`Provider.acknowledge` — the answer the provider expects, so it stops re-sending;
* :meth:`Provider.refund` — ask the provider to pay (part of) a payment back to its original channel,
  identified by our stable ``out_refund_no`` so that repeating the request never refunds twice. The
  answer is a :class:`RefundResult`: done, still processing (the outcome arrives later), or failed
  with the provider's reason. Not knowing (unreachable, timed out, unverifiable answer) raises
  :class:`ProviderError`; the caller may simply ask again with the same ``out_refund_no``.

Providers that report refund outcomes asynchronously (WeChat Pay) also implement
:class:`RefundNotifier`: :meth:`RefundNotifier.parse_refund_callback` verifies a refund notification
exactly like a payment callback and returns a :class:`RefundNotification`.

Providers never touch the database: the services store the raw callback, call :meth:`parse_callback`
and apply the result exactly once by trade number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class CallbackRefused(Exception):
    """A notification that must not be posted: bad signature, stale timestamp, undecryptable body."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class ProviderError(Exception):
    """The provider could not open a checkout (refused, unreachable, answered unsigned)."""


@dataclass(frozen=True)
class Checkout:
    """What a provider needs to open a checkout for one payment order."""

    trade_no: str
    amount_fen: int
    description: str
    notify_url: str
    return_url: str = ""


@dataclass(frozen=True)
class CheckoutStarted:
    """Where the payer goes next: ``redirect_url`` (open it) or ``qr_url`` (scan it)."""

    redirect_url: str = ""
    qr_url: str = ""
    provider_ref: str = ""


@dataclass(frozen=True)
class Notification:
    """A verified notification, in anju's terms."""

    trade_no: str
    amount_fen: int
    succeeded: bool
    provider_txn_id: str = ""
    paid_at: dt.datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


class RefundOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    PROCESSING = "processing"
    FAILED = "failed"


@dataclass(frozen=True)
class RefundRequest:
    """What a provider needs to pay back ``amount_fen`` of the payment ``trade_no`` (of ``total_fen``)."""

    trade_no: str
    out_refund_no: str
    amount_fen: int
    total_fen: int
    reason: str = ""
    provider_txn_id: str = ""


@dataclass(frozen=True)
class RefundResult:
    """The provider's answer to a refund request; ``reason`` says why when it failed."""

    outcome: RefundOutcome
    provider_refund_id: str = ""
    reason: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundNotification:
    """A verified refund notification, in anju's terms."""

    out_refund_no: str
    trade_no: str
    amount_fen: int
    outcome: RefundOutcome
    provider_refund_id: str = ""
    reason: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Acknowledgement:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class HttpResponseData:
    status: int
    headers: Mapping[str, str]
    body: bytes


#: ``(method, url, headers, body) -> response``: how a provider talks HTTP. Unit tests may pass a
#: function that plays the provider's server; otherwise :func:`urllib_transport` (with the
#: provider's ``timeout_seconds``), which tests point at a local fake server through ``api_base`` /
#: ``gateway``.
Transport = Callable[[str, str, Mapping[str, str], bytes], HttpResponseData]


def urllib_transport(
    method: str, url: str, headers: Mapping[str, str], body: bytes, *, timeout: float = 10
) -> HttpResponseData:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body or None, method=method, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpResponseData(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        return HttpResponseData(exc.code, dict(exc.headers.items()), exc.read())
    except OSError as exc:
        raise ProviderError(str(exc)) from exc


class Provider(Protocol):
    code: str
    #: True for providers a real payer's money moves through (not the sandbox).
    live: bool

    def start(self, checkout: Checkout) -> CheckoutStarted: ...

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> Notification: ...

    def acknowledge(self, ok: bool) -> Acknowledgement: ...

    def refund(self, request: RefundRequest) -> RefundResult: ...


@runtime_checkable
class RefundNotifier(Protocol):
    """A provider that notifies refund outcomes asynchronously."""

    def parse_refund_callback(self, headers: Mapping[str, str], body: bytes) -> RefundNotification: ...

    def acknowledge(self, ok: bool) -> Acknowledgement: ...


def header(headers: Mapping[str, str], name: str) -> str:
    """A header by name, case-insensitively (Django's ``request.headers`` is, a plain dict is not)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""
