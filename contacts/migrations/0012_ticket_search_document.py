"""One search document per ticket, on PostgreSQL: its subject, its contact's
name and every message's text in one tsvector (French, accents ignored),
in the table contacts_ticket_search, kept by triggers and indexed with GIN.

Searching each table on its own (migration 0006) meant an EXISTS over the
messages of every ticket in the inbox's order: tens of seconds on a million
tickets. With one document, "these words, newest first" is one indexed
condition on the ticket, and the planner can pick the GIN index (rare words)
or the date order (frequent ones).

The table is not a model: the ORM never loads it (inbox queries would carry
every ticket's words), only the search reads it (contacts/inbox/queries.py).
A message added appends its words; a message changed, moved or removed (merge,
retention purge, erasure) and a subject or contact name changed recompute the
ticket's whole document, so purged words leave the index with the text.
Nothing on other databases (the inbox searches with LIKE there).
"""

# ruff: noqa: S608 (SQL built from this file's constants only)
from django.db import migrations

CONFIG = "aiguillage_fr"


TABLE = "contacts_ticket_search"


# A tsvector holds at most 1 MB: the text of a ticket's messages is read up
# to this many characters (a document never overflows), and a message whose
# words would overflow a full document leaves it as it is (the message is
# stored all the same; only its words are not searchable).
MAX_TEXT = 200_000


def document(ticket):
    """SQL of the whole document of the ticket row named ``ticket``."""
    return f"""
        to_tsvector('{CONFIG}', COALESCE({ticket}.subject, ''))
        || to_tsvector('{CONFIG}', COALESCE((SELECT c.name FROM contacts_contact c WHERE c.id = {ticket}.contact_id), ''))
        || COALESCE((SELECT to_tsvector('{CONFIG}', left(string_agg(m.body_text, ' ' ORDER BY m.id), {MAX_TEXT}))
                     FROM contacts_message m WHERE m.ticket_id = {ticket}.id), ''::tsvector)
    """


BACKFILL = object()  # stands for the batched backfill in FORWARD
BATCH = 5000

FORWARD = [
    # Its own narrow table: a message appends its words to a row with two
    # indexes, not to the ticket's row with all of the ticket's. No foreign
    # key (Django's flush truncates the tickets): a ticket's deletion deletes
    # its row, and a new ticket overwrites a row left by a truncation.
    f"CREATE TABLE IF NOT EXISTS {TABLE} (ticket_id bigint PRIMARY KEY, document tsvector NOT NULL)",
    f"""
    CREATE OR REPLACE FUNCTION contacts_ticket_search_refresh(ticket_ids bigint[]) RETURNS void AS $$
      INSERT INTO {TABLE} (ticket_id, document)
      SELECT t.id, {document("t")} FROM contacts_ticket t WHERE t.id = ANY(ticket_ids)
      ON CONFLICT (ticket_id) DO UPDATE SET document = EXCLUDED.document
    $$ LANGUAGE sql
    """,
    f"""
    CREATE OR REPLACE FUNCTION contacts_ticket_search_on_ticket() RETURNS trigger AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        DELETE FROM {TABLE} WHERE ticket_id = OLD.id;
      ELSE
        PERFORM contacts_ticket_search_refresh(ARRAY[NEW.id]);
      END IF;
      RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER contacts_ticket_search_on_ticket_insert
      AFTER INSERT ON contacts_ticket
      FOR EACH ROW EXECUTE FUNCTION contacts_ticket_search_on_ticket()
    """,
    # A full save() names every column: only a real change recomputes.
    """
    CREATE TRIGGER contacts_ticket_search_on_ticket_change
      AFTER UPDATE OF subject, contact_id ON contacts_ticket
      FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject OR OLD.contact_id IS DISTINCT FROM NEW.contact_id)
      EXECUTE FUNCTION contacts_ticket_search_on_ticket()
    """,
    """
    CREATE TRIGGER contacts_ticket_search_on_ticket_delete
      AFTER DELETE ON contacts_ticket
      FOR EACH ROW EXECUTE FUNCTION contacts_ticket_search_on_ticket()
    """,
    f"""
    CREATE OR REPLACE FUNCTION contacts_ticket_search_on_message() RETURNS trigger AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        BEGIN
          UPDATE {TABLE} SET document = document || to_tsvector('{CONFIG}', left(COALESCE(NEW.body_text, ''), {MAX_TEXT}))
          WHERE ticket_id = NEW.ticket_id;
          IF NOT FOUND THEN
            PERFORM contacts_ticket_search_refresh(ARRAY[NEW.ticket_id]);
          END IF;
        EXCEPTION WHEN program_limit_exceeded THEN
          RAISE WARNING 'search document of ticket % is full: message % not indexed', NEW.ticket_id, NEW.id;
        END;
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
    # The tickets already there, in batches (each its own transaction: the
    # migration is not atomic, so the tables stay writable; the triggers keep
    # new and changed tickets meanwhile, and a batch skips what they wrote).
    BACKFILL,
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS inbox_ticket_search_document ON {TABLE} USING gin (document)",
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
    "DROP TRIGGER IF EXISTS contacts_ticket_search_on_ticket_delete ON contacts_ticket",
    "DROP TRIGGER IF EXISTS contacts_ticket_search_on_ticket_change ON contacts_ticket",
    "DROP TRIGGER IF EXISTS contacts_ticket_search_on_ticket_insert ON contacts_ticket",
    "DROP FUNCTION IF EXISTS contacts_ticket_search_on_contact()",
    "DROP FUNCTION IF EXISTS contacts_ticket_search_on_message()",
    "DROP FUNCTION IF EXISTS contacts_ticket_search_on_ticket()",
    "DROP FUNCTION IF EXISTS contacts_ticket_search_refresh(bigint[])",
    f"DROP TABLE IF EXISTS {TABLE}",
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


def backfill(schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(min(id), 0), COALESCE(max(id), -1) FROM contacts_ticket")
        low, high = cursor.fetchone()
        for start in range(low, high + 1, BATCH):
            cursor.execute(
                f"INSERT INTO {TABLE} (ticket_id, document) SELECT t.id, {document('t')} FROM contacts_ticket t "
                "WHERE t.id BETWEEN %s AND %s ON CONFLICT (ticket_id) DO NOTHING",
                [start, start + BATCH - 1],
            )


def run(statements):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            if statement is BACKFILL:
                backfill(schema_editor)
            else:
                schema_editor.execute(statement, None)

    return operation


class Migration(migrations.Migration):
    atomic = False  # see the backfill
    dependencies = [("contacts", "0011_ticket_merged_into_and_tag_events")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD), elidable=False)]
