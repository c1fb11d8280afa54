"""API tokens: list, issue (the secret is shown once) and revoke the caller's own tokens."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from anju.api.auth import current_user, signed_in
from anju.api.errors import OWN_WRITE, SIGNED_IN, responses
from anju.api.pagination import Page, PageQuery, paginate
from anju.api.schemas import Input, local, text
from anju.api.tenancy import get_or_404
from anju.core import notifications, services
from anju.core.models import ApiToken, Notification

router = Router(tags=["tokens"], auth=signed_in())


class TokenOut(Schema):
    id: int
    name: str
    kind: str
    prefix: str = Field(description="The first characters of the secret, to recognise it by.")
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    is_active: bool

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        now = timezone.now()
        return cls(
            id=token.pk,
            name=token.name,
            kind=token.kind,
            prefix=token.prefix,
            created_at=local(token.created_at),  # type: ignore[arg-type]
            last_used_at=local(token.last_used_at),
            expires_at=local(token.expires_at),
            revoked_at=local(token.revoked_at),
            is_active=token.revoked_at is None and (token.expires_at is None or token.expires_at > now),
        )


class IssuedTokenOut(TokenOut):
    secret: str = Field(description="Send as “Authorization: Bearer <secret>”. Shown only this once.")


class TokenIn(Input):
    name: Annotated[str, text(100, min_length=1)]
    kind: ApiToken.Kind = ApiToken.Kind.PERSONAL
    expires_in_days: int | None = Field(None, ge=1, le=3650, description="Leave out for a token that does not expire.")


@router.get("/tokens", response=responses(Page[TokenOut], errors=(*SIGNED_IN, 422)))
def list_tokens(request: HttpRequest, page: Query[PageQuery]) -> Page[TokenOut]:
    """The caller's tokens, newest first, revoked ones included so the history is visible."""
    tokens = ApiToken.objects.filter(user=current_user(request)).order_by("-created_at", "-id")
    return paginate(tokens, page, TokenOut.of)


@router.post("/tokens", response=responses(IssuedTokenOut, status=201, errors=(400, 401, 403, 422)))
def issue_token(request: HttpRequest, payload: TokenIn) -> Status[IssuedTokenOut]:
    user = current_user(request)
    expires_at = timezone.now() + dt.timedelta(days=payload.expires_in_days) if payload.expires_in_days else None
    token, secret = services.issue_api_token(
        user=user, name=payload.name, kind=str(payload.kind), expires_at=expires_at, actor=user
    )
    return Status(201, IssuedTokenOut(**TokenOut.of(token).model_dump(), secret=secret))


@router.delete("/tokens/{token_id}", response=responses(TokenOut, errors=OWN_WRITE))
def revoke_token(request: HttpRequest, token_id: int) -> TokenOut:
    """Revoke one of the caller's tokens; it is refused (401) from now on. Someone else's is a 404."""
    user = current_user(request)
    token = get_or_404(ApiToken, token_id, user=user)
    return TokenOut.of(services.revoke_api_token(token, actor=user))


notifications_router = Router(tags=["notifications"], auth=signed_in())


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    url: str
    community_id: int | None
    created_at: dt.datetime
    read_at: dt.datetime | None

    @classmethod
    def of(cls, row: Notification) -> NotificationOut:
        return cls(
            id=row.pk,
            kind=row.kind,
            title=row.title,
            body=row.body,
            url=row.url,
            community_id=row.community_id,
            created_at=local(row.created_at),  # type: ignore[arg-type]
            read_at=local(row.read_at),
        )


class NotificationFilter(Schema):
    unread: bool = Field(False, description="Only notifications not yet read.")


class ReadOut(Schema):
    marked: int


@notifications_router.get("/notifications", response=responses(Page[NotificationOut], errors=(*SIGNED_IN, 422)))
def list_notifications(
    request: HttpRequest, page: Query[PageQuery], filters: Query[NotificationFilter]
) -> Page[NotificationOut]:
    """The caller's notifications, newest first."""
    rows = Notification.objects.filter(recipient=current_user(request))
    if filters.unread:
        rows = rows.filter(read_at__isnull=True)
    return paginate(rows.order_by("-created_at", "-id"), page, NotificationOut.of)


@notifications_router.post("/notifications/{notification_id}/read", response=responses(ReadOut, errors=OWN_WRITE))
def read_notification(request: HttpRequest, notification_id: int) -> ReadOut:
    """Mark one of the caller's notifications read. Someone else's is a 404."""
    user = current_user(request)
    row = get_or_404(Notification, notification_id, recipient=user)
    return ReadOut(marked=notifications.mark_read(user, [row.pk]))


@notifications_router.post("/notifications/read-all", response=responses(ReadOut, errors=(*SIGNED_IN, 422)))
def read_all_notifications(request: HttpRequest) -> ReadOut:
    return ReadOut(marked=notifications.mark_read(current_user(request)))
