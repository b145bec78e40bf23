"""One search document per ticket, on PostgreSQL: its subject, its contact's
name and every message's text in one tsvector (French, accents ignored),
kept by triggers and indexed with GIN.

Searching each table on its own (migration 0006) meant an EXISTS over the
messages of every ticket in the inbox's order: tens of seconds on a million
tickets. With one document, "these words, newest first" is one indexed
condition on the ticket, and the planner can pick the GIN index (rare words)
or the date order (frequent ones).

The column is not a model field: the ORM never loads it (inbox queries would
carry every ticket's words), only the search reads it (contacts/inbox/queries.py).
A message added appends its words; a message changed, moved or removed (merge,
retention purge, erasure) and a subject or contact name changed recompute the
ticket's whole document, so purged words leave the index with the text.
Nothing on other databases (the inbox searches with LIKE there).
"""

from django.db import migrations

CONFIG = "aiguillage_fr"


def document(ticket):
    """SQL of the whole document of the ticket row named ``ticket``."""
    return f"""
        to_tsvector('{CONFIG}', COALESCE({ticket}.subject, ''))
        || to_tsvector('{CONFIG}', COALESCE((SELECT c.name FROM contacts_contact c WHERE c.id = {ticket}.contact_id), ''))
        || COALESCE((SELECT to_tsvector('{CONFIG}', string_agg(m.body_text, ' ' ORDER BY m.id))
                     FROM contacts_message m WHERE m.ticket_id = {ticket}.id), ''::tsvector)
    """


FORWARD = [
    "ALTER TABLE contacts_ticket ADD COLUMN IF NOT EXISTS search_document tsvector",
    f"""
    CREATE OR REPLACE FUNCTION contacts_ticket_search_refresh(ticket_ids bigint[]) RETURNS void AS $$
      UPDATE contacts_ticket t SET search_document = {document("t")} WHERE t.id = ANY(ticket_ids)
    $$ LANGUAGE sql
    """,
    f"""
    CREATE OR REPLACE FUNCTION contacts_ticket_search_on_ticket() RETURNS trigger AS $$
    BEGIN
      NEW.search_document := {document("NEW")};
      RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER contacts_ticket_search_on_ticket_insert
      BEFORE INSERT ON contacts_ticket
      FOR EACH ROW EXECUTE FUNCTION contacts_ticket_search_on_ticket()
    """,
    # A full save() names every column: only a real change recomputes.
    """
    CREATE TRIGGER contacts_ticket_search_on_ticket_change
      BEFORE UPDATE OF subject, contact_id ON contacts_ticket
      FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject OR OLD.contact_id IS DISTINCT FROM NEW.contact_id)
      EXECUTE FUNCTION contacts_ticket_search_on_ticket()
    """,
    f"""
    CREATE OR REPLACE FUNCTION contacts_ticket_search_on_message() RETURNS trigger AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        UPDATE contacts_ticket SET search_document =
          COALESCE(search_document, ''::tsvector) || to_tsvector('{CONFIG}', COALESCE(NEW.body_text, ''))
        WHERE id = NEW.ticket_id;
      ELSIF TG_OP = 'UPDATE' THEN
        PERFORM contacts_ticket_search_refresh(ARRAY[OLD.ticket_id, NEW.ticket_id]);
      ELSE
        PERFORM contacts_ticket_search_refresh(ARRAY[OLD.ticket_id]);
      END IF;
      RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER contacts_ticket_search_on_message_insert
      AFTER INSERT ON contacts_message
      FOR EACH ROW EXECUTE FUNCTION contacts_ticket_search_on_message()
    """,
    """
    CREATE TRIGGER contacts_ticket_search_on_message_change
      AFTER UPDATE OF body_text, ticket_id ON contacts_message
      FOR EACH ROW WHEN (OLD.body_text IS DISTINCT FROM NEW.body_text OR OLD.ticket_id IS DISTINCT FROM NEW.ticket_id)
      EXECUTE FUNCTION contacts_ticket_search_on_message()
    """,
    """
    CREATE TRIGGER contacts_ticket_search_on_message_delete
      AFTER DELETE ON contacts_message
      FOR EACH ROW EXECUTE FUNCTION contacts_ticket_search_on_message()
    """,
    """
    CREATE OR REPLACE FUNCTION contacts_ticket_search_on_contact() RETURNS trigger AS $$
    BEGIN
      PERFORM contacts_ticket_search_refresh(ARRAY(SELECT id FROM contacts_ticket WHERE contact_id = NEW.id));
      RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER contacts_ticket_search_on_contact
      AFTER UPDATE OF name ON contacts_contact
      FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
      EXECUTE FUNCTION contacts_ticket_search_on_contact()
    """,
    f"UPDATE contacts_ticket t SET search_document = {document('t')}",
    "CREATE INDEX IF NOT EXISTS inbox_ticket_search_document ON contacts_ticket USING gin (search_document)",
    # The per-table indexes of 0006 served the old search only; each also
    # cost every ingested message a GIN insertion.
    "DROP INDEX IF EXISTS inbox_message_body_fts",
    "DROP INDEX IF EXISTS inbox_ticket_subject_fts",
    "DROP INDEX IF EXISTS inbox_contact_name_fts",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS contacts_ticket_search_on_contact ON contacts_contact",
    "DROP TRIGGER IF EXISTS contacts_ticket_search_on_message_delete ON contacts_message",
    "DROP TRIGGER IF EXISTS contacts_ticket_search_on_message_change ON contacts_message",
    "DROP TRIGGER IF EXISTS contacts_ticket_search_on_message_insert ON contacts_message",
    "DROP TRIGGER IF EXISTS contacts_ticket_search_on_ticket_change ON contacts_ticket",
    "DROP TRIGGER IF EXISTS contacts_ticket_search_on_ticket_insert ON contacts_ticket",
    "DROP FUNCTION IF EXISTS contacts_ticket_search_on_contact()",
    "DROP FUNCTION IF EXISTS contacts_ticket_search_on_message()",
    "DROP FUNCTION IF EXISTS contacts_ticket_search_on_ticket()",
    "DROP FUNCTION IF EXISTS contacts_ticket_search_refresh(bigint[])",
    "DROP INDEX IF EXISTS inbox_ticket_search_document",
    "ALTER TABLE contacts_ticket DROP COLUMN IF EXISTS search_document",
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


def run(statements):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return operation


class Migration(migrations.Migration):
    dependencies = [("contacts", "0011_ticket_merged_into_and_tag_events")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD), elidable=False)]
