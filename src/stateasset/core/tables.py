"""Tables of cross-cutting machinery: idempotency records."""

from piccolo.columns import Bytea, Integer, Timestamptz, Varchar
from piccolo.table import Table


class IdempotencyRecord(Table, tablename="idempotency_record"):
    """The first response to a money-moving POST, kept so a retry returns it instead of writing again."""

    scope_key = Varchar(length=400, unique=True)
    request_hash = Varchar(length=64)
    status_code = Integer(null=True)
    response = Bytea(null=True)
    created_at = Timestamptz()
