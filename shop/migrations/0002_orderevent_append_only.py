"""On PostgreSQL, refuse UPDATE and DELETE on the audit trail in the database itself."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION shop_orderevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'shop_orderevent is append-only: % refused', TG_OP USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER shop_orderevent_append_only
    BEFORE UPDATE OR DELETE ON shop_orderevent
    FOR EACH ROW EXECUTE FUNCTION shop_orderevent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS shop_orderevent_append_only ON shop_orderevent;
DROP FUNCTION IF EXISTS shop_orderevent_append_only();
"""


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP))]
