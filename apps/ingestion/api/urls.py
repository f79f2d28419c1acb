from django.urls import path

from . import files, health, views

urlpatterns = [
    path("ingest/<slug:slug>/", views.IngestApi.as_view(), name="api-ingest"),
    path("messages/", views.MessageListApi.as_view(), name="api-message-list"),
    path("messages/<uuid:message_id>/", views.MessageStatusApi.as_view(), name="api-message-status"),
    path("messages/<uuid:message_id>/acknowledgement/", files.MessageAckApi.as_view(), name="api-message-ack"),
    path("feeds/health/", health.FeedHealthListApi.as_view(), name="api-feed-health-list"),
    path("feeds/<slug:slug>/health/", health.FeedHealthApi.as_view(), name="api-feed-health"),
    path("feeds/<slug:slug>/dry-run/", views.FeedDryRunApi.as_view(), name="api-feed-dry-run"),
    path("feeds/<slug:slug>/files/", files.FileUploadApi.as_view(), name="api-feed-files"),
    path("files/<uuid:file_id>/", files.FileApi.as_view(), name="api-file"),
    path("files/<uuid:file_id>/acknowledgements/<int:n>/", files.FileAckApi.as_view(), name="api-file-ack"),
    path("dead-letters/", views.DeadLetterListApi.as_view(), name="api-dead-letters"),
]
