"""The points ledger is append-only in the database itself, as the audit log and billing's ledger
are: UPDATE is refused on both engines, DELETE on PostgreSQL (TRUNCATE, an operator's deliberate
act and the test runner's reset, stays possible; SQLite's test reset deletes rows, so there only
UPDATE is guarded). Corrections are reversal entries (:func:`anju.community.services.reverse_entry`)."""

from django.db import migrations

TABLE = "community_pointsentry"
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION anju_points_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused); post a reversal instead', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION anju_points_append_only();",
            params=None,
        )
    else:
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only (UPDATE refused)'); END;",
            params=None,
        )


def undo(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE};", params=None)
        schema_editor.execute("DROP FUNCTION IF EXISTS anju_points_append_only();", params=None)
    else:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only;", params=None)


class Migration(migrations.Migration):
    dependencies = [("community", "0001_initial")]

    operations = [migrations.RunPython(append_only, undo, elidable=False)]
