#!/bin/sh
# Creates the two roles of DESIGN.md on first start of the Postgres container:
# spm_owner owns the schema and runs migrations; spm_app is the runtime role
# (no superuser, no BYPASSRLS, owns nothing), used by web, worker and beat.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE spm_owner LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB PASSWORD '${SPM_OWNER_PASSWORD}';
CREATE ROLE spm_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB PASSWORD '${SPM_APP_PASSWORD}';
CREATE DATABASE spm OWNER spm_owner;
SQL
