"""Every API error is ``{"code", "message"}`` (plus ``field`` or ``errors`` when they help) with a 4xx.

The handlers below translate each kind of failure into that shape, and :func:`responses` declares
the same shapes on every operation so the OpenAPI document tells client authors what can come back.
A 5xx is a bug: it is logged, reported to Django's ``got_request_exception`` (so the test client
re-raises it), and still answered in the same JSON shape.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from anju.core.errors import DomainError

logger = logging.getLogger("anju.api")


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


class ValidationIssue(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(ErrorOut):
    errors: list[ValidationIssue]


# Error statuses an operation may answer, by kind of operation.
SIGNED_IN = (401,)
RESIDENT_READ = (401, 404, 422)
COMMUNITY_READ = (401, 403, 404, 422)
COMMUNITY_WRITE = (400, 401, 403, 404, 409, 422)
OWN_WRITE = (400, 401, 403, 404, 422)


def responses(ok: Any, *, status: int = 200, errors: tuple[int, ...] = COMMUNITY_READ) -> dict[int, Any]:
    """The ``response=`` mapping for an operation: its success schema plus each error's schema."""
    declared: dict[int, Any] = {status: ok}
    for code in errors:
        declared[code] = ValidationErrorOut if code == 422 else ErrorOut
    return declared


_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "throttled",
}


def _error(api: NinjaAPI, request: HttpRequest, status: int, code: str, message: Any, **extra: Any) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": str(message)}
    body.update({key: value for key, value in extra.items() if value is not None})
    return api.create_response(request, body, status=status)


def _summary(errors: list[dict[str, Any]]) -> str:
    """``body.floor_area: Input should be greater than 0; query.limit: …`` — readable at a glance."""
    parts = []
    for issue in errors[:5]:
        location = ".".join(str(part) for part in issue.get("loc", ()))
        parts.append(f"{location}: {issue.get('msg', '')}" if location else str(issue.get("msg", "")))
    if len(errors) > 5:
        parts.append(_("and %(count)d more") % {"count": len(errors) - 5})
    return _("Some values are missing or invalid: %(details)s") % {"details": "; ".join(parts)}


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return _error(api, request, exc.status, exc.code, exc.message, field=exc.field)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        issues = [
            {"loc": list(issue.get("loc", ())), "msg": str(issue.get("msg", "")), "type": str(issue.get("type", ""))}
            for issue in exc.errors
        ]
        return _error(api, request, 422, "invalid", _summary(exc.errors), errors=issues)

    @api.exception_handler(DjangoValidationError)
    def django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return _error(api, request, 400, "invalid", " ".join(str(m) for m in exc.messages))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _error(api, request, 404, "not_found", _("Not found, or not yours to see."))

    @api.exception_handler(DjangoPermissionDenied)
    def forbidden(request: HttpRequest, exc: DjangoPermissionDenied) -> HttpResponse:
        return _error(api, request, 403, "forbidden", _("You do not have permission to do this."))

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return _error(
            api, request, 401, "unauthenticated", _("Log in, or send an API token as “Authorization: Bearer …”.")
        )

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = _CODE_BY_STATUS.get(exc.status_code, "error")
        if exc.status_code == 400:
            message: Any = _("The request body could not be read; send valid JSON.")
            code = "malformed_request"
        else:
            message = str(exc)
        return _error(api, request, exc.status_code, code, message)

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("unhandled error in API operation %s %s", request.method, request.path)
        got_request_exception.send(sender=None, request=request)
        return _error(api, request, 500, "server_error", _("Something went wrong on our side; it has been logged."))
