"""The audit log: append-only, hash-chained."""

from piccolo.columns import JSONB, BigSerial, Timestamptz, Varchar
from piccolo.table import Table


class AuditEntry(Table, tablename="audit_log"):
    """One write: who, when, what, on which object, before and after.

    Rows are never updated or deleted (a trigger refuses it); each row carries the hash of the
    previous one, so an edit made behind the product's back breaks the chain at that row.
    """

    id = BigSerial(primary_key=True)
    at = Timestamptz()
    actor = Varchar(length=100)
    action = Varchar(length=100)
    object_type = Varchar(length=100)
    object_id = Varchar(length=200)
    before = JSONB(null=True)
    after = JSONB(null=True)
    reason = Varchar(length=1000, null=True)
    request_id = Varchar(length=64)
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64, unique=True)
