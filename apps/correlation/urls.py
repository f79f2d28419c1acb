from django.urls import path

from . import views

urlpatterns = [
    path("search/", views.search_page, name="search"),
    # `path`: an order id may contain a slash; ids are compared exactly as sent.
    path("orders/<path:order_key>/", views.order_detail, name="order-detail"),
    path("unmatched/", views.unmatched, name="unmatched"),
]
