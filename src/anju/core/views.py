from django.http import HttpRequest, JsonResponse


def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and the benchmark's baseline: no database, no session."""
    return JsonResponse({"status": "ok"})
