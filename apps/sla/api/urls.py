from django.urls import path

from . import views

urlpatterns = [
    path("sla-policies/", views.SlaPolicyListApi.as_view(), name="api-sla-policies"),
    path("sla-policies/<int:policy_id>/", views.SlaPolicyDetailApi.as_view(), name="api-sla-policy"),
]
