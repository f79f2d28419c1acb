from django.urls import path

from . import views

urlpatterns = [
    path("exceptions/", views.ExceptionListApi.as_view(), name="api-exceptions"),
    path("exceptions/<int:case_id>/", views.ExceptionDetailApi.as_view(), name="api-exception"),
    path("exceptions/<int:case_id>/assign/", views.ExceptionAssignApi.as_view(), name="api-exception-assign"),
    path(
        "exceptions/<int:case_id>/acknowledge/",
        views.ExceptionAcknowledgeApi.as_view(),
        name="api-exception-acknowledge",
    ),
    path("exceptions/<int:case_id>/snooze/", views.ExceptionSnoozeApi.as_view(), name="api-exception-snooze"),
    path("exceptions/<int:case_id>/resolve/", views.ExceptionResolveApi.as_view(), name="api-exception-resolve"),
    path("exceptions/<int:case_id>/comment/", views.ExceptionCommentApi.as_view(), name="api-exception-comment"),
]
