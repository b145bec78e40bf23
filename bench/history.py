"""A large generated history in PostgreSQL, shared by the benchmarks at scale
(bench/inbox_scale.py; the indicators can use it too).

One département with 30 services, 40 topics (4 sensitive) and 200 agents;
contacts, tickets spread over the last year (the last month's still being
handled, the rest resolved or closed), three messages per ticket in French
words, and the events a ticket's life leaves. Rows are written by
``INSERT ... SELECT generate_series`` in batches, with the secondary indexes
dropped during the load and built again after (as a restore does), then
ANALYZE: the figures are those of a database that lived, not of a load.
"""

import time

VOCABULARY = (
    "rsa",
    "allocation",
    "logement",
    "loyer",
    "expulsion",
    "impayé",
    "facture",
    "électricité",
    "coupure",
    "chauffage",
    "enfant",
    "école",
    "cantine",
    "transport",
    "bus",
    "collège",
    "handicap",
    "mdph",
    "dossier",
    "demande",
    "aide",
    "sociale",
    "personne",
    "âgée",
    "apa",
    "domicile",
    "maison",
    "retraite",
    "violence",
    "conjoint",
    "protection",
    "urgence",
    "travaux",
    "route",
    "voirie",
    "nid",
    "poule",
    "déchets",
    "eau",
    "assainissement",
    "permis",
    "carte",
    "grise",
    "emploi",
    "formation",
    "insertion",
    "santé",
    "médecin",
    "vaccin",
    "pmi",
    "crèche",
    "garde",
    "assistante",
    "maternelle",
    "bourse",
    "étudiant",
    "stage",
    "mutuelle",
    "caf",
    "pôle",
    "rendez-vous",
    "courrier",
    "réponse",
    "délai",
    "relance",
    "accueil",
    "horaires",
    "adresse",
    "téléphone",
    "document",
    "justificatif",
    "attestation",
    "paiement",
    "versement",
)

SERVICES = 30
TOPICS = 40
AGENTS = 200
BATCH = 100_000


def _words(seed_sql, count):
    """SQL for ``count`` vocabulary words picked from the integer ``seed_sql``
    (for a statement with parameters: its modulo is written %%)."""
    n = len(VOCABULARY)
    picks = [f"(w.v)[1 + (({seed_sql}) * {p} + {k}) %% {n}]" for k, p in enumerate((7, 13, 31, 61, 97, 131, 193, 257))]
    return "concat_ws(' ', " + ", ".join(picks[:count]) + ")"


def generate(tickets=1_000_000, messages_per_ticket=3, log=print):
    """Write the history; returns what was made (counts and seconds)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from contacts.models import AgentProfile
    from kb.models import Organisation, Service, Topic

    started = time.perf_counter()
    organisation = Organisation.objects.create(slug="cd99", name="Département 99", kind="departement")
    services = [
        Service.objects.create(organisation=organisation, slug=f"s{i:02d}", name=f"Service {i}", sla_hours=48)
        for i in range(SERVICES)
    ]
    topics = [
        Topic.objects.create(
            organisation=organisation, slug=f"t{i:02d}", title=f"Sujet {i}", sensitive=i % 10 == 9, position=i
        )
        for i in range(TOPICS)
    ]
    password = make_password("agent")
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"agent{i:03d}", first_name="Agent", last_name=str(i), password=password) for i in range(AGENTS)]
    )
    for i, user in enumerate(users):
        profile = AgentProfile.objects.create(user=user, organisation=organisation, role=AgentProfile.Role.AGENT)
        profile.services.set([services[i % SERVICES], services[(i * 7 + 3) % SERVICES]])

    service_ids = "ARRAY[" + ",".join(str(s.pk) for s in services) + "]::bigint[]"
    topic_ids = "ARRAY[" + ",".join(str(t.pk) for t in topics) + "]::bigint[]"
    user_ids = "ARRAY[" + ",".join(str(u.pk) for u in users) + "]::int[]"
    vocabulary = "ARRAY[" + ",".join(f"'{w}'" for w in VOCABULARY) + "]::text[]"
    contacts = max(1, tickets // 5)
    org = organisation.pk

    with connection.cursor() as cursor:
        dropped = _drop_secondary_indexes(cursor, ["contacts_contact", "contacts_ticket", "contacts_message"])
        # The search documents' triggers would update a ticket per message:
        # off for the load, the documents computed once after it.
        for table in ("contacts_ticket", "contacts_message"):
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        t0 = time.perf_counter()
        cursor.execute(
            "INSERT INTO contacts_contact (organisation_id, name, email, phone, postcode, sms_consent, created_at) "
            "SELECT %s, 'Usager ' || g, 'usager' || g || '@citoyen.example', '', '99' || lpad((g %% 1000)::text, 3, '0'),"
            " false, now() - interval '2 years' FROM generate_series(1, %s) g",
            [org, contacts],
        )
        cursor.execute("SELECT min(id) FROM contacts_contact WHERE organisation_id = %s", [org])
        first_contact = cursor.fetchone()[0]
        log(f"contacts: {contacts} in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        for low in range(1, tickets + 1, BATCH):
            high = min(tickets, low + BATCH - 1)
            # Age in seconds over a year; the last 30 days are still handled.
            cursor.execute(
                f"""
                INSERT INTO contacts_ticket (reference, organisation_id, contact_id, subject, channel, status,
                    priority, not_understood, created_at, updated_at, first_response_at, resolved_at, due_at,
                    resolution_due_at, assignee_id, service_id, topic_id, reply_address, tags)
                SELECT 'CD99-' || lpad(g::text, 7, '0'), %s, %s + (g * 7919) %% %s, {_words("g", 4)},
                    (ARRAY['email','email','email','form','form','sms','chat','phone','letter'])[1 + g %% 9],
                    CASE WHEN age > 2592000 THEN (CASE WHEN g %% 3 = 0 THEN 'closed' ELSE 'resolved' END)
                         ELSE (ARRAY['new','open','open','pending','resolved'])[1 + g %% 5] END,
                    CASE WHEN g %% 50 = 0 THEN 'urgent' WHEN g %% 7 = 0 THEN 'high' ELSE 'normal' END,
                    false, created, created,
                    CASE WHEN age > 2592000 OR g %% 5 <> 0 THEN created + interval '20 hours' END,
                    CASE WHEN age > 2592000 THEN created + interval '3 days' END,
                    created + interval '48 hours', created + interval '10 days',
                    CASE WHEN g %% 2 = 0 THEN (u.v)[1 + g %% {AGENTS}] END,
                    (s.v)[1 + g %% {SERVICES}], (t.v)[1 + (g * 31) %% {TOPICS}], '', '[]'::jsonb
                FROM (SELECT g, (g * 104729) %% 31536000 AS age,
                             now() - ((g * 104729) %% 31536000) * interval '1 second' AS created
                      FROM generate_series(%s::bigint, %s::bigint) g) x,
                     (SELECT {vocabulary} AS v) w, (SELECT {service_ids} AS v) s,
                     (SELECT {topic_ids} AS v) t, (SELECT {user_ids} AS v) u
                """,  # noqa: S608 (integers and our own constants only)
                [org, first_contact, contacts, low, high],
            )
        log(f"tickets: {tickets} in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        cursor.execute("SELECT min(id), max(id) FROM contacts_ticket WHERE organisation_id = %s", [org])
        first_ticket, last_ticket = cursor.fetchone()
        for low in range(first_ticket, last_ticket + 1, BATCH):
            cursor.execute(
                f"""
                INSERT INTO contacts_message (ticket_id, direction, channel, author_id, subject, body_text,
                    body_full, body_html, external_id, is_internal, raw_ref, created_at)
                SELECT tk.id, CASE WHEN k = 2 THEN 'out' ELSE 'in' END, tk.channel,
                    CASE WHEN k = 2 THEN tk.assignee_id END, '',
                    'Bonjour, ' || {_words("tk.id * 3 + k", 8)} || '. Cordialement.', '', '',
                    '<gen-' || tk.id || '-' || k || '@citoyen.example>', false, '',
                    tk.created_at + k * interval '1 hour'
                FROM contacts_ticket tk, generate_series(1, %s) k, (SELECT {vocabulary} AS v) w
                WHERE tk.id BETWEEN %s AND %s
                """,  # noqa: S608
                [messages_per_ticket, low, low + BATCH - 1],
            )
        log(f"messages: {tickets * messages_per_ticket} in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        cursor.execute("DROP INDEX IF EXISTS inbox_ticket_search_document")
        for low in range(first_ticket, last_ticket + 1, BATCH):
            cursor.execute(
                """
                INSERT INTO contacts_ticket_search (ticket_id, document)
                SELECT t.id, to_tsvector('aiguillage_fr', t.subject) || to_tsvector('aiguillage_fr', c.name) || m.words
                FROM contacts_ticket t JOIN contacts_contact c ON c.id = t.contact_id
                JOIN (SELECT ticket_id, to_tsvector('aiguillage_fr', string_agg(body_text, ' ' ORDER BY id)) AS words
                      FROM contacts_message WHERE ticket_id BETWEEN %s AND %s GROUP BY ticket_id) m ON m.ticket_id = t.id
                ON CONFLICT (ticket_id) DO UPDATE SET document = EXCLUDED.document
                """,
                [low, low + BATCH - 1],
            )
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS inbox_ticket_search_document ON contacts_ticket_search USING gin (document)"
        )
        for table in ("contacts_ticket", "contacts_message"):
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        log(f"search documents in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        for statement in dropped:
            cursor.execute(statement)
        log(f"indexes rebuilt in {time.perf_counter() - t0:.1f} s")
        # What autovacuum does to a database that lived: statistics, and the
        # visibility map that index-only scans need.
        cursor.execute("VACUUM ANALYZE")
    return {
        "organisation": organisation,
        "tickets": tickets,
        "messages": tickets * messages_per_ticket,
        "contacts": contacts,
        "agents": AGENTS,
        "services": SERVICES,
        "generate_s": round(time.perf_counter() - started, 1),
    }


def existing():
    """What an earlier ``generate`` left in the database (after VACUUM
    ANALYZE, as autovacuum would have done meanwhile)."""
    from django.db import connection

    from contacts.models import Message, Ticket
    from kb.models import Organisation

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    organisation = Organisation.objects.get(slug="cd99")
    return {
        "organisation": organisation,
        "tickets": Ticket.objects.filter(organisation=organisation).count(),
        "messages": Message.objects.filter(ticket__organisation=organisation).count(),
        "contacts": organisation.contacts.count(),
        "agents": AGENTS,
        "services": SERVICES,
        "generate_s": None,
    }


def _drop_secondary_indexes(cursor, tables):
    """Drop the indexes that back no constraint; return the statements that
    build them again."""
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.tablename = ANY(%s) AND i.schemaname = 'public'
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        [tables],
    )
    rows = cursor.fetchall()
    for name, _definition in rows:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in rows]
