from django.urls import path

from . import views

urlpatterns = [
    path("sla/policies/", views.policy_list, name="sla-policy-list"),
    path("sla/policies/new/", views.policy_create, name="sla-policy-create"),
    path("sla/policies/<int:policy_id>/", views.policy_detail, name="sla-policy-detail"),
    path("sla/policies/<int:policy_id>/edit/", views.policy_edit, name="sla-policy-edit"),
    path("sla/policies/<int:policy_id>/active/", views.policy_set_active, name="sla-policy-active"),
]
