"""Feed health, messages, rejections and dead letters for ops leads and admins."""

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.feeds.selectors import feed_get
from apps.feeds.services import feed_set_paused

from .choices import MessageStatus
from .selectors import dead_letter_list, feed_health_list, message_get, message_list
from .services import message_mark_for_replay


@login_required
@permission_required("accounts.view_feeds", raise_exception=True)
def feed_list(request: HttpRequest) -> HttpResponse:
    return render(request, "ingestion/feed_list.html", {"rows": feed_health_list()})


@login_required
@permission_required("accounts.view_feeds", raise_exception=True)
def feed_detail(request: HttpRequest, slug: str) -> HttpResponse:
    feed = feed_get(slug=slug)
    if feed is None:
        raise Http404("no such feed")
    status = request.GET.get("status") or None
    qs = message_list(feed_slug=slug, status=status)
    if request.GET.get("with_rejections"):
        qs = qs.exclude(rejections=[])
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    context = {"feed": feed, "page": page, "statuses": MessageStatus.choices, "filters": request.GET}
    template = "ingestion/_message_rows.html" if request.htmx else "ingestion/feed_detail.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@login_required
@permission_required("accounts.manage_feeds", raise_exception=True)
@require_POST
def feed_pause(request: HttpRequest, slug: str) -> HttpResponse:
    feed = feed_get(slug=slug)
    if feed is None:
        raise Http404("no such feed")
    paused = request.POST.get("paused") == "1"
    if feed_set_paused(feed=feed, paused=paused, actor=request.user):
        flash.success(request, f"Feed {slug} {'paused' if paused else 'resumed'}.")
    return redirect("feed-detail", slug=slug)


@login_required
@permission_required("accounts.view_feeds", raise_exception=True)
def message_detail(request: HttpRequest, message_id: str) -> HttpResponse:
    message = message_get(message_id=message_id)
    if message is None:
        raise Http404("no such message")
    return render(request, "ingestion/message_detail.html", {"message": message})


@login_required
@permission_required("accounts.manage_feeds", raise_exception=True)
@require_POST
def message_replay(request: HttpRequest, message_id: str) -> HttpResponse:
    message = message_get(message_id=message_id)
    if message is None:
        raise Http404("no such message")
    if message_mark_for_replay(message=message, actor=request.user):
        flash.success(request, "Message queued for reprocessing.")
    else:
        flash.warning(request, "The message is still being processed; try again when it has finished.")
    return redirect("message-detail", message_id=message.id)


@login_required
@permission_required("accounts.view_feeds", raise_exception=True)
def dead_letters(request: HttpRequest) -> HttpResponse:
    page = Paginator(dead_letter_list(), 50).get_page(request.GET.get("page"))
    return render(request, "ingestion/dead_letters.html", {"page": page})
