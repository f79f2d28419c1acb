"""`field__any=[...]`: like `__in`, but one array parameter on PostgreSQL (`= ANY(%s)`).

A 2,000-value `__in` makes psycopg convert 2,000 placeholders per query; on the correlation hot
path that cost more than the queries themselves. Even as one array parameter, psycopg's
client-side binding quotes every element in Python, so integer and string lists are written as
one array literal here (a single text parameter, cast in SQL). SQLite keeps the plain IN list."""

from typing import Any

from django.db.models import Field, ForeignObject, Lookup


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def array_literal(values: list[Any]) -> tuple[str, str] | None:
    """(PostgreSQL array literal, element type) for a list of ints or of strings, else None."""
    if not values:
        return None
    if all(type(v) is int for v in values):
        return "{" + ",".join(map(str, values)) + "}", "bigint"
    if all(type(v) is str for v in values):
        return "{" + ",".join(map(_quoted, values)) + "}", "text"
    return None


def array_param(values: list[Any]) -> str:
    """The array literal of a list of ints or of strings, for a `%s::bigint[]` / `%s::text[]`
    parameter in hand-written SQL ('{}' when empty). Anything else is a programming error."""
    if not values:
        return "{}"
    literal = array_literal(values)
    if literal is None:
        raise ValueError("array_param takes a list of ints or a list of strings")
    return literal[0]


class AnyLookup(Lookup[Any]):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return list(self.rhs)

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            literal = array_literal(values)
            if literal is not None:
                return f"{lhs} = ANY(%s::{literal[1]}[])", [*lhs_params, literal[0]]
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if not values:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


Field.register_lookup(AnyLookup)
ForeignObject.register_lookup(AnyLookup)  # foreign keys keep their own lookup registry
