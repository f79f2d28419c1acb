from django.urls import path

from . import views

urlpatterns = [
    path("exceptions/", views.exception_queue, name="exception-queue"),
    path("exceptions/bulk/", views.exception_bulk, name="exception-bulk"),
    path("exceptions/<int:case_id>/", views.exception_detail, name="exception-detail"),
    path(
        "exceptions/<int:case_id>/<str:action>/",
        views.exception_action,
        name="exception-action",
    ),
]
