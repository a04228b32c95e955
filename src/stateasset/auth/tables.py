from piccolo.columns import UUID, Array, Boolean, Timestamptz, Varchar
from piccolo.table import Table


class User(Table, tablename="app_user"):
    """A person who signs in. `entity_id` scopes entity finance staff; `fund_ids` scope fund managers."""

    id = UUID(primary_key=True)
    username = Varchar(length=100, unique=True)
    display_name = Varchar(length=200)
    password_hash = Varchar(length=200)
    role = Varchar(length=30)
    entity_id = UUID(null=True, default=None)
    fund_ids = Array(base_column=UUID(), default=list)
    active = Boolean(default=True)
    created_at = Timestamptz()
