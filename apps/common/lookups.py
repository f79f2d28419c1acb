"""`field__any=[...]`: like `__in`, but one array parameter on PostgreSQL (`= ANY(%s)`).

A 2,000-value `__in` makes psycopg convert 2,000 placeholders per query; on the correlation hot
path that cost more than the queries themselves. SQLite keeps the plain IN list."""

from typing import Any

from django.db.models import Field, ForeignObject, Lookup


class AnyLookup(Lookup[Any]):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return list(self.rhs)

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if not values:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


Field.register_lookup(AnyLookup)
ForeignObject.register_lookup(AnyLookup)  # foreign keys keep their own lookup registry
