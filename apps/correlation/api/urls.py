from django.urls import path

from . import views

urlpatterns = [
    path("search/", views.SearchApi.as_view(), name="api-search"),
    path("orders/<str:order_key>/", views.OrderApi.as_view(), name="api-order"),
    path("orders/<str:order_key>/timeline/", views.TimelineApi.as_view(), name="api-order-timeline"),
    path("unmatched-events/", views.UnmatchedEventListApi.as_view(), name="api-unmatched-events"),
]
