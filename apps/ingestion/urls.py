from django.urls import path

from . import file_views, views
from .credential_views import feed_hmac_secret_rotate, feed_token_rotate
from .poll_views import feed_poll_now

urlpatterns = [
    path("feeds/", views.feed_list, name="feed-list"),
    path("feeds/<slug:slug>/", views.feed_detail, name="feed-detail"),
    path("feeds/<slug:slug>/pause/", views.feed_pause, name="feed-pause"),
    path("feeds/<slug:slug>/poll-now/", feed_poll_now, name="feed-poll-now"),
    path("feeds/<slug:slug>/credentials/token/", feed_token_rotate, name="feed-token-rotate"),
    path("feeds/<slug:slug>/credentials/hmac-secret/", feed_hmac_secret_rotate, name="feed-hmac-rotate"),
    path("feeds/<slug:slug>/files/", file_views.feed_file_upload, name="feed-file-upload"),
    path("files/<uuid:file_id>/", file_views.file_detail, name="file-detail"),
    path("files/<uuid:file_id>/acknowledgements/<int:n>/", file_views.file_ack_download, name="file-ack"),
    path("messages/<uuid:message_id>/", views.message_detail, name="message-detail"),
    path("messages/<uuid:message_id>/acknowledgement/", file_views.message_ack_download, name="message-ack"),
    path("messages/<uuid:message_id>/replay/", views.message_replay, name="message-replay"),
    path("dead-letters/", views.dead_letters, name="dead-letters"),
]
