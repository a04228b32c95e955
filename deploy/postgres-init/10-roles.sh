#!/bin/sh
# Run once by the postgres image when it creates its data folder: the two roles StateAsset uses.
# stateasset_owner owns the database and its schema and runs the migrations; stateasset_app is
# what the server connects as, and `stateasset migrate` grants it only what it needs (rows of the
# business tables; read and append on the audit tables). Neither is a superuser.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v owner_password="$STATEASSET_OWNER_PASSWORD" -v app_password="$STATEASSET_APP_PASSWORD" \
    -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE stateasset_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE stateasset_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
ALTER DATABASE :"db" OWNER TO stateasset_owner;
ALTER SCHEMA public OWNER TO stateasset_owner;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
