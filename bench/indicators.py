"""The managers' dashboard on a generated history: one organisation, one
quarter (and the quarter before, for the comparison).

Usage: BENCH_DATABASE=... .venv/bin/python bench/indicators.py [--tickets 100000] [--runs 5]
                                   [--skip-live] [--reuse]
The history is written by the database (``generate``: about 5 events per
ticket); ``--reuse`` measures the one an earlier run left. Prints one JSON line: tickets and events generated, the time of the whole
dashboard view (every indicator, both periods, rendered) p50/p95 computed
live and then from the daily aggregates, the full rebuild of the aggregates
(seconds, rows, rows per second), and the slowest indicators.
"""

import argparse
import time

from common import emit, fresh_database, summary_ms


def generate(count, seed=0.11):
    """The history, written by the database (INSERT ... SELECT over
    generate_series, secondary indexes dropped during the load and built
    again after, then VACUUM ANALYZE): one organisation, 5 services, 12
    topics, tickets received over one year (July 2025 to June 2026, as the
    inbox benchmark's history spreads its tickets over a year), ~5 events each."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from bench.history import _drop_secondary_indexes
    from contacts.models import AgentProfile
    from kb.models import Organisation, Service, Topic

    organisation = Organisation.objects.create(slug="bench", name="Bench", kind="departement")
    services = [
        Service.objects.create(organisation=organisation, slug=f"s{i}", name=f"Service {i}", sla_hours=48)
        for i in range(5)
    ]
    topics = [Topic.objects.create(organisation=organisation, slug=f"t{i}", title=f"Sujet {i}") for i in range(12)]
    user = get_user_model().objects.create_user("manager", password="x")
    AgentProfile.objects.create(user=user, organisation=organisation, role=AgentProfile.Role.MANAGER)
    service_ids = "ARRAY[" + ",".join(str(s.pk) for s in services) + "]::bigint[]"
    topic_ids = "ARRAY[" + ",".join(str(t.pk) for t in topics) + "]::bigint[]"
    topic_slugs = "ARRAY[" + ",".join(f"'{t.slug}'" for t in topics) + "]::text[]"
    org = organisation.pk
    with connection.cursor() as cursor:
        dropped = _drop_secondary_indexes(cursor, ["contacts_contact", "contacts_ticket", "contacts_ticketevent"])
        cursor.execute("ALTER TABLE contacts_ticket DISABLE TRIGGER USER")
        cursor.execute(
            "INSERT INTO contacts_contact (organisation_id, name, email, phone, postcode, sms_consent, created_at) "
            "SELECT %s, 'C' || g, '', '', '', false, now() FROM generate_series(1, %s) g",
            [org, max(1, count // 5)],
        )
        cursor.execute("SELECT min(id) FROM contacts_contact WHERE organisation_id = %s", [org])
        first_contact = cursor.fetchone()[0]
        cursor.execute("SELECT setseed(%s)", [seed])
        # One row of draws per ticket (the Python generator's distributions:
        # 90 % answered after an exponential 20 h, 80 % of those resolved
        # 30 h later, 2 % urgent, 10 % paused 10 h, 6 % transferred, 3 %
        # corrected, a quarter of the resolved rated).
        cursor.execute(
            """
            CREATE UNLOGGED TABLE bench_draws AS
            SELECT g, created,
                   CASE WHEN r1 < 0.9 THEN created + (-ln(1 - r2) * 20) * interval '1 hour' END AS answered,
                   r3, r4, r5, r6, r7, r8, r9, r10,
                   (ARRAY['email','email','form','form','sms','chat','letter'])[1 + floor(r11 * 7)::int] AS channel,
                   1 + floor(r12 * 5)::int AS service, 1 + floor(r13 * 12)::int AS topic
            FROM (SELECT g, timestamptz '2025-07-01 00:00+00' + random() * interval '365 days' AS created,
                         random() r1, random() r2, random() r3, random() r4, random() r5, random() r6,
                         random() r7, random() r8, random() r9, random() r10, random() r11, random() r12,
                         random() r13
                  FROM generate_series(1, %s) g) x
            """,
            [count],
        )
        cursor.execute(
            "ALTER TABLE bench_draws ADD COLUMN resolved timestamptz;"
            "UPDATE bench_draws SET resolved = answered + (-ln(1 - r4) * 30) * interval '1 hour'"
            " WHERE answered IS NOT NULL AND r3 < 0.8"
        )
        cursor.execute("SELECT coalesce(max(id), 0) FROM contacts_ticket")
        base = cursor.fetchone()[0]
        cursor.execute(
            f"""
            INSERT INTO contacts_ticket (id, reference, organisation_id, contact_id, subject, channel, status,
                priority, not_understood, created_at, updated_at, first_response_at, resolved_at, due_at,
                service_id, topic_id, reply_address, tags)
            SELECT %s + g, 'BENCH-' || lpad(g::text, 7, '0'), %s, %s + g %% %s, '', channel,
                CASE WHEN resolved IS NOT NULL THEN 'resolved' WHEN answered IS NOT NULL THEN 'open' ELSE 'new' END,
                CASE WHEN r5 < 0.02 THEN 'urgent' ELSE 'normal' END, false, created, created, answered, resolved,
                created + interval '48 hours', (s.v)[service], (t.v)[topic], '', '[]'::jsonb
            FROM bench_draws, (SELECT {service_ids} AS v) s, (SELECT {topic_ids} AS v) t
            """,  # noqa: S608
            [base, org, first_contact, max(1, count // 5)],
        )
        cursor.execute("SELECT setval(pg_get_serial_sequence('contacts_ticket', 'id'), %s)", [base + count])
        events = [
            ("'created'", "created", "'{}'::jsonb", "true"),
            ("'routed'", "created", "jsonb_build_object('topic', (ts.v)[topic])", "true"),
            ("'assigned'", "created + interval '5 minutes'", "'{}'::jsonb", "r10 < 0.8"),
            ("'replied'", "answered", "'{}'::jsonb", "answered IS NOT NULL"),
            (
                "'status_changed'",
                "answered",
                """'{"previous": "open", "status": "pending"}'::jsonb""",
                "answered IS NOT NULL AND r6 < 0.1",
            ),
            (
                "'status_changed'",
                "answered + interval '10 hours'",
                """'{"previous": "pending", "status": "open"}'::jsonb""",
                "answered IS NOT NULL AND r6 < 0.1",
            ),
            (
                "'transferred'",
                "created",
                """'{"from_service": "a", "to_service": "b"}'::jsonb""",
                "r7 < 0.06",
            ),
            ("'corrected'", "created", """'{"from_topic": "t0"}'::jsonb""", "r8 < 0.03"),
            (
                "'status_changed'",
                "resolved",
                """'{"previous": "open", "status": "resolved"}'::jsonb""",
                "resolved IS NOT NULL",
            ),
            (
                "'rated'",
                "resolved",
                "jsonb_build_object('score', 1 + floor(r9 * 20)::int %% 5)",
                "resolved IS NOT NULL AND r9 < 0.25",
            ),
        ]
        for kind, at, data, condition in events:
            cursor.execute(
                # Our own constants only.
                f"INSERT INTO contacts_ticketevent (ticket_id, kind, created_at, data) "  # noqa: S608
                f"SELECT %s + g, {kind}, {at}, {data} FROM bench_draws, (SELECT {topic_slugs} AS v) ts "
                f"WHERE {condition} ORDER BY {at}, g",
                [base],
            )
        cursor.execute("SELECT count(*) FROM contacts_ticketevent")
        made = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_draws")
        cursor.execute("ALTER TABLE contacts_ticket ENABLE TRIGGER USER")
        for statement in dropped:
            cursor.execute(statement)
        cursor.execute("VACUUM ANALYZE")
    return user, organisation, made


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-live", action="store_true", help="do not time the dashboard computed live")
    parser.add_argument(
        "--skip-rebuild", action="store_true", help="with --reuse: keep the aggregates an earlier run rebuilt"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure the history an earlier run left in BENCH_DATABASE (no new load)"
    )
    args = parser.parse_args()
    fresh_database(reuse=args.reuse)
    t0 = time.perf_counter()
    if args.reuse:
        user, organisation, events = existing()
        args.tickets = organisation.tickets.count()
    else:
        user, organisation, events = generate(args.tickets)
    generated_s = None if args.reuse else time.perf_counter() - t0

    from django.test import RequestFactory

    from contacts.indicators import views
    from contacts.indicators.aggregates import rebuild
    from contacts.indicators.compute import INDICATORS, Scope, compute
    from contacts.indicators.filters import parse_filters

    params = {"du": "2026-04-01", "au": "2026-06-30"}
    factory = RequestFactory()

    def dashboard_latencies():
        latencies = []
        for _ in range(args.runs):
            request = factory.get("/indicateurs/", params)
            request.user = user
            t = time.perf_counter()
            response = views.dashboard(request)
            latencies.append(time.perf_counter() - t)
            assert response.status_code == 200, response.status_code
        return latencies

    # Computed live: the organisation has no aggregates yet (a reused
    # database's are dropped first).
    from contacts.indicators.models import AggregateBuild

    report = None
    if not (args.reuse and args.skip_rebuild):
        AggregateBuild.objects.all().delete()
        live = None if args.skip_live else dashboard_latencies()
        report = rebuild()
    else:
        live = None
    latencies = dashboard_latencies()
    filters = parse_filters(params, user)
    per_indicator = {}
    for key in INDICATORS:
        t = time.perf_counter()
        compute(Scope(user, filters), key)
        per_indicator[key] = round((time.perf_counter() - t) * 1000, 1)
    slowest = dict(sorted(per_indicator.items(), key=lambda kv: -kv[1])[:5])
    emit(
        {
            "bench": "indicators",
            "tickets": args.tickets,
            "events": events,
            "generate_s": round(generated_s, 1) if generated_s is not None else None,
            "dashboard_quarter_live": summary_ms(live) if live else "skipped",
            "dashboard_quarter": summary_ms(latencies),
            "rebuild": {
                "s": round(report.seconds, 1),
                "ticket_facts": report.tickets,
                "daily_aggregates": report.aggregates,
                "rows_per_s": report.rows_per_second,
            }
            if report
            else "skipped",
            "slowest_indicators_ms": slowest,
        }
    )


def existing():
    """What an earlier ``generate`` left (after VACUUM ANALYZE)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from contacts.models import TicketEvent
    from kb.models import Organisation

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return (
        get_user_model().objects.get(username="manager"),
        Organisation.objects.get(slug="bench"),
        (TicketEvent.objects.count()),
    )


if __name__ == "__main__":
    main()
