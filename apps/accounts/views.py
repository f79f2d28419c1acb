from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.common.ratelimit import login_retry_after

from .selectors import audit_log_list


class LoginView(auth_views.LoginView):
    """Django's login, which says so (429, Retry-After) once this address or this username has
    failed too often (apps.accounts.backends.ThrottledModelBackend refuses it either way)."""

    template_name = "accounts/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = login_retry_after(request, request.POST.get("username", ""))
        if wait is None:
            return super().post(request, *args, **kwargs)
        form = self.get_form_class()(request)  # unbound: its errors would check the password
        response = self.render_to_response(self.get_context_data(form=form, retry_in=_wait_text(wait)))
        response.status_code = 429
        response["Retry-After"] = str(wait)
        return response


def _wait_text(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{round(seconds / 60)} minutes"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@login_required
@permission_required("accounts.view_audit_log", raise_exception=True)
def audit_log(request: HttpRequest) -> HttpResponse:
    entries = audit_log_list(action=request.GET.get("action"), target=request.GET.get("target"))
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/audit_log.html", {"page": page, "filters": request.GET})
