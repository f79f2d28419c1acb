from django.urls import path

from . import holds, runs

urlpatterns = [
    path("invoice-holds/", holds.HoldListApi.as_view(), name="api-invoice-holds"),
    path("invoice-holds/<int:hold_id>/", holds.HoldDetailApi.as_view(), name="api-invoice-hold"),
    path("invoice-holds/<int:hold_id>/release/", holds.HoldReleaseApi.as_view(), name="api-invoice-hold-release"),
    path(
        "orders/<path:order_key>/reconciliation/",  # ids may hold "/" (apps/correlation/converters.py)
        holds.OrderReconciliationApi.as_view(),
        name="api-order-reconciliation",
    ),
    path("reconciliation/runs/", runs.RunListApi.as_view(), name="api-reconciliation-runs"),
    path("reconciliation/runs/<int:run_id>/", runs.RunDetailApi.as_view(), name="api-reconciliation-run"),
    path(
        "reconciliation/runs/<int:run_id>/findings/",
        runs.RunFindingsApi.as_view(),
        name="api-reconciliation-run-findings",
    ),
    path(
        "reconciliation/runs/<int:run_id>/report.csv", runs.RunReportApi.as_view(), name="api-reconciliation-run-report"
    ),
]
