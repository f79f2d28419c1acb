from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from .paginators import CappedPaginator


class PageNumberPagination(pagination.PageNumberPagination):
    """`{"count", "next", "previous", "results"}` as the contract requires; `?page_size=` up to 500.

    `count` is exact up to paginators.COUNT_CAP; beyond it the count stops (a COUNT(*) of a
    million dead letters on every call costs more than the page), `count` is the cap and the
    answer also carries `"count_capped": true`. `next` keeps working past the cap."""

    page_size_query_param = "page_size"
    max_page_size = 500
    django_paginator_class = CappedPaginator

    def get_page_size(self, request: Request) -> int | None:
        """As DRF, but a `page_size` that is not a whole number from 1 is a 400 naming it
        (DRF would quietly answer the default size: a client's typo would look like data)."""
        raw = request.query_params.get(self.page_size_query_param or "")
        if raw is not None and (not raw.isdigit() or int(raw) < 1):
            raise ValidationError({"page_size": [f"a whole number from 1 (at most {self.max_page_size} are given)"]})
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter.get("name") in (self.page_size_query_param, self.page_query_param):
                parameter["schema"] = {**parameter.get("schema", {}), "minimum": 1}
        return parameters

    def get_paginated_response(self, data: object) -> Response:
        response = super().get_paginated_response(data)
        assert self.page is not None  # paginate_queryset ran first
        paginator = self.page.paginator
        if isinstance(paginator, CappedPaginator) and paginator.capped:
            response.data["count"] = paginator.cap
            response.data["count_capped"] = True
        return response

    def get_paginated_response_schema(self, schema: dict[str, object]) -> dict[str, object]:
        out = super().get_paginated_response_schema(schema)
        properties = out.get("properties")
        if isinstance(properties, dict):
            properties["count_capped"] = {
                "type": "boolean",
                "description": "present (true) when there are more rows than `count` says: counting stopped",
            }
        return out
