from django.urls import path, register_converter

from ..converters import OrderKeyConverter
from . import views

register_converter(OrderKeyConverter, "order_key")

urlpatterns = [
    path("search/", views.SearchApi.as_view(), name="api-search"),
    # Order ids may contain "/" (raw or %2F); `path` takes the longest id before /timeline/.
    path("orders/<order_key:order_key>/", views.OrderApi.as_view(), name="api-order"),
    path("orders/<path:order_key>/timeline/", views.TimelineApi.as_view(), name="api-order-timeline"),
    path("unmatched-events/", views.UnmatchedEventListApi.as_view(), name="api-unmatched-events"),
]
