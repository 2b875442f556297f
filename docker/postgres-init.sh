#!/bin/sh
# Creates the two roles on the Postgres container's first start (README,
# "Tenancy: two walls"): spm_owner owns the schema and runs migrations; spm_app
# is the runtime role (no superuser, no BYPASSRLS, owns nothing) of web, worker
# and beat. The passwords reach psql as variables and are quoted by it (:'...'),
# so no character in them can change the statement.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="$SPM_OWNER_PASSWORD" -v app_password="$SPM_APP_PASSWORD" <<'SQL'
CREATE ROLE spm_owner LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB PASSWORD :'owner_password';
CREATE ROLE spm_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB PASSWORD :'app_password';
CREATE DATABASE spm OWNER spm_owner;
SQL
