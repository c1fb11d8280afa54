"""The JSON API under ``/api/v1``: one NinjaAPI assembling each app's router.

Authentication (bearer token or session), the error shape and the tenancy helpers live beside this
module (:mod:`.auth`, :mod:`.errors`, :mod:`.tenancy`, :mod:`.pagination`); the operations live in
the apps (``anju.<app>.api``). Interactive documentation is served at ``/api/docs`` from the
Swagger UI files shipped inside django-ninja (no CDN).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI

from anju.api.auth import signed_in
from anju.api.errors import install_error_handlers

api = NinjaAPI(
    title="anju API",
    version="1",
    description=(
        "安居 anju: the community register, residents and tokens. Authenticate with a session cookie "
        "(browser; CSRF token on unsafe methods) or `Authorization: Bearer anju_…`. Errors are "
        '`{"code", "message"}` with a 4xx status.'
    ),
    urls_namespace="api",
    docs_url=None,
    auth=signed_in(),
)
install_error_handlers(api)


def _mount() -> None:
    from anju.core.api import notifications_router
    from anju.core.api import router as tokens_router
    from anju.estates.api import router as register_router
    from anju.residents.api import me_router
    from anju.residents.api import router as people_router

    api.add_router("", me_router)
    api.add_router("", register_router)
    api.add_router("", people_router)
    api.add_router("", tokens_router)
    api.add_router("", notifications_router)

    from anju.access.api import router as access_router
    from anju.billing.api import router as billing_router
    from anju.billing.payments.api import router as payments_router
    from anju.community.api import router as community_router
    from anju.devices.alarms.api import router as alarms_router
    from anju.devices.api import router as devices_router
    from anju.workorders.api import router as workorders_router
    from anju.workorders.preventive.api import router as preventive_router

    for router in (
        workorders_router,
        preventive_router,
        billing_router,
        payments_router,
        devices_router,
        alarms_router,
        access_router,
        community_router,
    ):
        api.add_router("", router)


_mount()


def api_docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI for the API, at ``/api/docs``."""
    return api.docs.render_page(request, api)


@csrf_exempt
def unknown_endpoint(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any path under ``/api/`` that no operation matches: a JSON 404 like every other API error,
    not the HTML page a browser would get."""
    return JsonResponse({"code": "not_found", "message": str(_("Not found, or not yours to see."))}, status=404)
