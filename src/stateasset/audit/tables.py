"""The audit log: append-only entries, and the keyed hash chain that seals them."""

from piccolo.columns import JSONB, BigInt, BigSerial, Timestamptz, Varchar
from piccolo.table import Table


class AuditEntry(Table, tablename="audit_log"):
    """One write: who, when, what, on which object, before and after.

    Written in the write's own transaction, so it exists exactly when the write committed. Rows
    are never updated or deleted (a trigger refuses it); the sealer chains them in `audit_seal`.
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


class AuditSeal(Table, tablename="audit_seal"):
    """One link of the chain: entry `entry` sealed at position `seq` after the link `prev_hash`.

    `hash` is an HMAC-SHA256, under a key kept outside the database, of the previous hash, the
    position and the entry's whole content; so an edit, a removed link or a re-hash without the
    key breaks the chain. Append-only like the log.
    """

    seq = BigSerial(primary_key=True)
    entry = BigInt(unique=True)
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)
    sealed_at = Timestamptz()
