from django.urls import path

from . import mapping_views, views

urlpatterns = [
    path("onboarding/", views.index, name="onboarding"),
    path("onboarding/new/", views.start, name="onboarding-new"),
    path("onboarding/<int:draft_id>/", views.resume, name="onboarding-resume"),
    path("onboarding/<int:draft_id>/partner/", views.partner, name="onboarding-partner"),
    path("onboarding/<int:draft_id>/feed/", views.feed, name="onboarding-feed"),
    path("onboarding/<int:draft_id>/credentials/", views.credentials, name="onboarding-credentials"),
    path("onboarding/<int:draft_id>/mapping/", mapping_views.mapping, name="onboarding-mapping"),
    path("onboarding/<int:draft_id>/dry-run/", views.dry_run, name="onboarding-dry-run"),
    path("onboarding/<int:draft_id>/activate/", views.activate, name="onboarding-activate"),
    path("onboarding/<int:draft_id>/discard/", views.discard, name="onboarding-discard"),
]
