from piccolo.columns import UUID, Array, Boolean, Text, Timestamptz, Varchar
from piccolo.table import Table


class User(Table, tablename="app_user"):
    """A person who signs in. `entity_id` and `fund_ids` say where their scope starts; `grants` are
    permissions given on top of the role's."""

    id = UUID(primary_key=True)
    username = Varchar(length=100, unique=True)
    display_name = Varchar(length=200)
    password_hash = Varchar(length=200)
    role = Varchar(length=30)
    entity_id = UUID(null=True, default=None)
    fund_ids = Array(base_column=UUID(), default=list)
    grants = Array(base_column=Text(), default=list)
    active = Boolean(default=True)
    created_at = Timestamptz()
