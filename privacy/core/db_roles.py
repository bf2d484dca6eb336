"""The application's database role: what the running app may do in SQL, and what it may not.

Migrations run as the role that owns the tables. The web server and workers should connect as
a second role that owns nothing, so that no bug and no stolen credential of the running app can
rewrite history: ``db_grants_apply`` gives that role the rights to read and write the app's
tables, except the ones registered with ``db_restriction_register`` by the package that owns
them (``docs/registries.md``):

- ``APPEND_ONLY`` tables (the audit log, suppression entries): SELECT and INSERT only — no
  UPDATE, DELETE or TRUNCATE;
- ``INSERT_AND_ERASE_ONLY`` tables (consent events): SELECT, INSERT and DELETE (for erasure;
  the table's trigger refuses a DELETE outside the erasure service's transaction setting),
  never UPDATE or TRUNCATE.

A role that does not own a table cannot drop or disable its triggers either, so the
append-only triggers hold against the app. Run ``manage.py db_grants --role NAME`` as the owner
after each ``migrate``; the grants also cover tables later migrations add (default privileges).
"""

from __future__ import annotations

from django.apps import apps
from django.db import connection

from privacy.core.registry import Registry

# The rights the app's role loses on a restricted table.
APPEND_ONLY = ("UPDATE", "DELETE", "TRUNCATE")
INSERT_AND_ERASE_ONLY = ("UPDATE", "TRUNCATE")

# Model label -> the rights revoked on its table.
_restrictions: Registry[tuple[str, ...]] = Registry("database restrictions")


def db_restriction_register(model_label: str, revoked: tuple[str, ...]) -> None:
    """Revoke ``revoked`` (``APPEND_ONLY`` or ``INSERT_AND_ERASE_ONLY``) on the table of
    ``model_label`` from the app's role; called from ``AppConfig.ready()``."""
    if revoked not in (APPEND_ONLY, INSERT_AND_ERASE_ONLY):
        raise ValueError(f"Unknown restriction {revoked!r}")
    _restrictions.register(model_label, revoked)


def db_restrictions() -> dict[str, tuple[str, ...]]:
    return dict(_restrictions)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def db_grants_apply(*, role: str) -> list[str]:
    """Create ``role`` (NOLOGIN) if it does not exist and grant it the app's rights in the
    current database's ``public`` schema. Returns the statements run. Idempotent."""
    if not role or not role.replace("_", "").isalnum():
        raise ValueError("A role name is letters, digits and underscores.")
    quoted = _quote(role)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        database = _quote(cursor.fetchone()[0])
    statements = [
        # CREATE ROLE has no IF NOT EXISTS; the DO block makes a second run a no-op.
        "DO $$ BEGIN "
        f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
        f"CREATE ROLE {quoted} NOLOGIN; END IF; END $$",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {quoted}",
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {quoted}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
    ]
    for label, revoked in _restrictions.items():
        table = _quote(apps.get_model(label)._meta.db_table)
        statements.append(f"REVOKE {', '.join(revoked)} ON {table} FROM {quoted}")
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return statements
