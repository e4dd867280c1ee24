"""`field__in=[…]` with a long list, on PostgreSQL with server-side binding.

Parameters bound server-side (config/settings.py, DATABASE_PREPARED_STATEMENTS) are capped at
65,535 a query by PostgreSQL's protocol, and a rescan at a million entries asks for more (the
entries of every duplicate cluster, say). A list longer than ARRAY_FROM is sent as one array
parameter instead, `column = ANY(%s)`: the same rows (None is dropped as IN drops it), one
parameter whatever the length. Shorter lists, subqueries and client-side binding keep Django's
IN. Installed for every field, related ones included, by annotation.apps (the first app).
"""

from django.db.models import Field
from django.db.models.expressions import ColPairs
from django.db.models.fields.related import ForeignObject
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In

ARRAY_FROM = 1000


class _ArrayWhenLong:
    def as_postgresql(self, compiler, connection):
        if (
            connection.features.uses_server_side_binding
            and self.rhs_is_direct_value()
            and len(self.rhs) > ARRAY_FROM
            and not isinstance(self.lhs, ColPairs)  # a composite key: Django's tuple IN
        ):
            lhs, lhs_params = self.process_lhs(compiler, connection)
            rhs, rhs_params = self.process_rhs(compiler, connection)
            if rhs == "(" + ", ".join(["%s"] * len(rhs_params)) + ")":  # plain values only
                return f"{lhs} = ANY(%s)", (*lhs_params, list(rhs_params))
        return self.as_sql(compiler, connection)


class ArrayWhenLongIn(_ArrayWhenLong, In):
    pass


class ArrayWhenLongRelatedIn(_ArrayWhenLong, RelatedIn):
    pass


def install() -> None:
    Field.register_lookup(ArrayWhenLongIn)
    ForeignObject.register_lookup(ArrayWhenLongRelatedIn)
