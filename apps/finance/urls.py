from django.urls import path

from . import run_views, views

urlpatterns = [
    path("finance/", views.holds_page, name="finance-holds"),
    path("finance/holds/<int:hold_id>/release/", views.hold_release_view, name="finance-hold-release"),
    path("finance/orders/<path:order_key>/dispute/", views.hold_place_view, name="finance-hold-place"),
    path("finance/runs/", run_views.run_list, name="finance-runs"),
    path("finance/runs/<int:run_id>/", run_views.run_detail, name="finance-run-detail"),
    path("finance/runs/<int:run_id>/report.csv", run_views.run_report, name="finance-run-report"),
]
