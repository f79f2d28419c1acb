"""What the schema states of request bodies and filters is what the API enforces (docs/api.md
"Request bodies and the schema"): the schemathesis run relies on it to call a request valid."""

from typing import Any

import orjson
import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(
        orjson.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str)
    )
    return loaded


def parameter(schema: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    [found] = [p["schema"] for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name]
    return found


def test_request_bodies_have_components_of_their_own_that_refuse_blank_text(schema):
    body = schema["paths"]["/api/v1/invoice-holds/"]["post"]["requestBody"]["content"]
    assert list(body) == ["application/json"]  # no form encodings
    place = schema["components"]["schemas"][body["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert place["properties"]["order"]["minLength"] == 1
    assert place["properties"]["order"]["pattern"] == r"\S"


def test_filters_say_their_patterns_and_bounds(schema):
    assert parameter(schema, "/api/v1/exceptions/", "age")["pattern"] == "^[1-9][0-9]{0,4}[mhd]$"
    assert parameter(schema, "/api/v1/exceptions/", "status")["pattern"].startswith("^(open|")
    assert parameter(schema, "/api/v1/orders/{order_key}/timeline/", "limit") == {
        "type": "integer",
        "minimum": 1,
        "maximum": 1000,
    }
    assert parameter(schema, "/api/v1/search/", "orders_page")["minimum"] == 1


def test_uploads_are_binary_parts_and_unknown_policy_scopes_are_refused(schema):
    runs = schema["paths"]["/api/v1/reconciliation/runs/"]["post"]["requestBody"]["content"]
    ref = runs["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert schema["components"]["schemas"][ref]["properties"]["file"]["format"] == "binary"
    assert schema["components"]["schemas"]["AppliesToRequest"]["additionalProperties"] is False
