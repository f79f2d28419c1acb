from django.urls import path

from . import views

urlpatterns = [
    path("ingest/<slug:slug>/", views.IngestApi.as_view(), name="api-ingest"),
    path("messages/", views.MessageListApi.as_view(), name="api-message-list"),
    path("messages/<uuid:message_id>/", views.MessageStatusApi.as_view(), name="api-message-status"),
    path("feeds/<slug:slug>/dry-run/", views.FeedDryRunApi.as_view(), name="api-feed-dry-run"),
    path("dead-letters/", views.DeadLetterListApi.as_view(), name="api-dead-letters"),
]
