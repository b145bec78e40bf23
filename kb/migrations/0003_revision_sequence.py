"""Revision numbers from a sequence on PostgreSQL: a sequence is not rolled
back, so a number a rolled-back change took is never given again, and a value
memoised under it inside that transaction can never pass for a later
revision's."""

from django.db import migrations


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE SEQUENCE IF NOT EXISTS kb_revision_seq")
    schema_editor.execute(
        "SELECT setval('kb_revision_seq', GREATEST((SELECT COALESCE(MAX(value), 0) FROM kb_revision), 1))"
    )


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SEQUENCE IF EXISTS kb_revision_seq")


class Migration(migrations.Migration):
    dependencies = [("kb", "0002_organisation_retention_months")]

    operations = [migrations.RunPython(create_sequence, drop_sequence, elidable=False)]
