"""French full-text search for the inbox on PostgreSQL: the unaccent
extension, a text search configuration that stems French words without
their accents, and GIN indexes on the expressions the inbox searches
(contacts/inbox/queries.py). Nothing on other databases."""

from django.db import migrations

CONFIG = "aiguillage_fr"

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    f"""
    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{CONFIG}') THEN
        CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = french);
        ALTER TEXT SEARCH CONFIGURATION {CONFIG}
          ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
      END IF;
    END $$
    """,
    *(
        f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin "
        f"(to_tsvector('{CONFIG}'::regconfig, COALESCE({column}, '')))"
        for name, table, column in [
            ("inbox_message_body_fts", "contacts_message", "body_text"),
            ("inbox_ticket_subject_fts", "contacts_ticket", "subject"),
            ("inbox_contact_name_fts", "contacts_contact", "name"),
        ]
    ),
]

BACKWARD = [
    "DROP INDEX IF EXISTS inbox_message_body_fts",
    "DROP INDEX IF EXISTS inbox_ticket_subject_fts",
    "DROP INDEX IF EXISTS inbox_contact_name_fts",
    f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}",
]


def run(statements):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return operation


class Migration(migrations.Migration):
    dependencies = [("contacts", "0005_ack_skipped")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD), elidable=False)]
