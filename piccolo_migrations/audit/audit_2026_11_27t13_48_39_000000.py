from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T13:48:39:000000"
VERSION = "1.38.0"
DESCRIPTION = "the seals reference their entries and are append-only"

# The chain moved out of audit_log (previous migration): entries are written without a lock by
# each write and sealed afterwards, in one order, by the sealer; entries written before then are
# sealed on the next start. The seals are append-only like the log.
SQL = """
ALTER TABLE audit_seal ADD CONSTRAINT audit_seal_entry_fk
    FOREIGN KEY (entry) REFERENCES audit_log (id);
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$;
CREATE TRIGGER audit_seal_no_update BEFORE UPDATE OR DELETE ON audit_seal
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_seal_no_truncate BEFORE TRUNCATE ON audit_seal
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="audit", description=DESCRIPTION)

    async def constraints():
        # A migration's raw steps run before its table steps, so these follow the table's own.
        transaction = engine_finder().current_transaction.get()
        await transaction.connection.execute(SQL)

    manager.add_raw(constraints)
    return manager
