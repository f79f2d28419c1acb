from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist, loader


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):  # a path no API route matches (an id of the wrong shape): JSON, as the API answers
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "errors/404.html", status=404)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)
    return render(request, "errors/403.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    """The database may be what failed: no context processors, session or user (the template
    is rendered without the request), so this answer makes no query."""
    if _is_api(request):
        return JsonResponse({"detail": "Server error; it was logged. Try again in a moment."}, status=500)
    try:
        page = loader.get_template("errors/500.html").render()
    except TemplateDoesNotExist:  # a broken deploy: still an answer
        page = "<!doctype html><title>Server error</title><h1>Server error</h1>"
    return HttpResponse(page, status=500)
