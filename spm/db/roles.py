"""Database roles: the owner that migrates and the runtime role that runs.

``bootstrap_roles`` needs a superuser (or CREATEROLE) connection; it is what
``make run`` and ``make test`` use on the embedded or local server. In
production the roles are created once by the DBA, see README "Deploying".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

OWNER_ROLE = "spm_owner"
RUNTIME_ROLE = "spm_app"


@dataclass(frozen=True)
class DatabaseUrls:
    runtime: str
    owner: str


def _with_user(url: str, user: str, password: str, dbname: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{quote(user)}:{quote(password)}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, f"/{dbname}", parts.query, ""))


def bootstrap_roles(admin_url: str, dbname: str, password: str) -> DatabaseUrls:
    """Create the two roles and the database if missing; return their URLs.

    The runtime role is created NOSUPERUSER NOBYPASSRLS NOCREATEDB; the owner
    role owns the database and may create test databases.
    """
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for role, extra in ((OWNER_ROLE, "CREATEDB"), (RUNTIME_ROLE, "NOCREATEDB")):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(
                    "{} ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE "
                    + extra
                    + " PASSWORD {}"
                ).format(sql.SQL(verb), sql.Identifier(role), sql.Literal(password))
            )
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(dbname), sql.Identifier(OWNER_ROLE)
                )
            )
    with psycopg.connect(_with_admin_db(admin_url, dbname), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(OWNER_ROLE)))
    return DatabaseUrls(
        runtime=_with_user(admin_url, RUNTIME_ROLE, password, dbname),
        owner=_with_user(admin_url, OWNER_ROLE, password, dbname),
    )


def _with_admin_db(admin_url: str, dbname: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, ""))


def grant_runtime_privileges(  # type: ignore[no-untyped-def]
    owner_connection, runtime_connection, *, append_only_tables: Sequence[str] = ()
) -> None:
    """Grant the runtime role DML (never DDL) on everything the owner created,
    except UPDATE, DELETE and TRUNCATE on ``append_only_tables`` (the audit
    trail): there it may only insert and read."""
    runtime_user = runtime_connection.settings_dict["USER"]
    owner_user = owner_connection.settings_dict["USER"]
    if not runtime_user or runtime_user == owner_user:
        return
    role = sql.Identifier(runtime_user)
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role),
        sql.SQL(
            "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO {}"
        ).format(role),
        sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(role),
        *(
            sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
                sql.Identifier(table), role
            )
            for table in append_only_tables
        ),
    ]
    with owner_connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.as_string(cursor.connection))


def create_database(owner_or_admin_url: str, dbname: str, *, owner: str | None = None) -> None:
    """Drop (if present) and create ``dbname``; used for test databases."""
    with psycopg.connect(owner_or_admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
        if owner:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(dbname), sql.Identifier(owner)
                )
            )
        else:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def drop_database(owner_or_admin_url: str, dbname: str) -> None:
    with psycopg.connect(owner_or_admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
