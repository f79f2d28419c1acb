from django.urls import path

from . import views

urlpatterns = [
    path("feeds/", views.feed_list, name="feed-list"),
    path("feeds/<slug:slug>/", views.feed_detail, name="feed-detail"),
    path("feeds/<slug:slug>/pause/", views.feed_pause, name="feed-pause"),
    path("messages/<uuid:message_id>/", views.message_detail, name="message-detail"),
    path("messages/<uuid:message_id>/replay/", views.message_replay, name="message-replay"),
    path("dead-letters/", views.dead_letters, name="dead-letters"),
]
