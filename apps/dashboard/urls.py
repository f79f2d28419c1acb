from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/counters/", views.counters, name="dashboard-counters"),
    path("dashboard/charts/", views.charts_fragment, name="dashboard-charts"),
]
