"""The managers' dashboard on a generated history: one organisation, one
quarter (and the quarter before, for the comparison).

Usage: BENCH_DATABASE=... .venv/bin/python bench/indicators.py [--tickets 100000] [--runs 5]
Prints one JSON line: tickets and events generated, the time of the whole
dashboard view (every indicator, both periods, rendered) p50/p95 computed
live and then from the daily aggregates, the full rebuild of the aggregates
(seconds, rows, rows per second), and the slowest indicators.
"""

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from common import emit, fresh_database, summary_ms


def generate(count, seed=11):
    from django.contrib.auth import get_user_model

    from contacts.models import AgentProfile, Contact, Ticket, TicketEvent
    from kb.models import Organisation, Service, Topic

    rng = random.Random(seed)
    organisation = Organisation.objects.create(slug="bench", name="Bench", kind="departement")
    services = [
        Service.objects.create(organisation=organisation, slug=f"s{i}", name=f"Service {i}", sla_hours=48)
        for i in range(5)
    ]
    topics = [Topic.objects.create(organisation=organisation, slug=f"t{i}", title=f"Sujet {i}") for i in range(12)]
    user = get_user_model().objects.create_user("manager", password="x")
    AgentProfile.objects.create(user=user, organisation=organisation, role=AgentProfile.Role.MANAGER)
    contacts = Contact.objects.bulk_create(
        [Contact(organisation=organisation, name=f"C{i}") for i in range(max(1, count // 5))], batch_size=5000
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    span = (datetime(2026, 7, 1, tzinfo=UTC) - start).total_seconds()
    channels = ["email", "email", "form", "form", "sms", "chat", "letter"]
    events = 0
    for offset in range(0, count, 5000):
        tickets = []
        for i in range(offset, min(count, offset + 5000)):
            created = start + timedelta(seconds=rng.random() * span)
            answered = created + timedelta(hours=rng.expovariate(1 / 20)) if rng.random() < 0.9 else None
            resolved = answered + timedelta(hours=rng.expovariate(1 / 30)) if answered and rng.random() < 0.8 else None
            tickets.append(
                Ticket(
                    reference=f"BENCH-{i:07d}",
                    organisation=organisation,
                    contact=contacts[i % len(contacts)],
                    channel=rng.choice(channels),
                    status="resolved" if resolved else ("open" if answered else "new"),
                    priority="urgent" if rng.random() < 0.02 else "normal",
                    topic=rng.choice(topics),
                    service=rng.choice(services),
                    created_at=created,
                    first_response_at=answered,
                    resolved_at=resolved,
                    due_at=created + timedelta(hours=48),
                )
            )
        tickets = Ticket.objects.bulk_create(tickets)
        rows = []
        for ticket in tickets:
            at = ticket.created_at
            rows.append(TicketEvent(ticket=ticket, kind="created", created_at=at))
            rows.append(TicketEvent(ticket=ticket, kind="routed", created_at=at, data={"topic": ticket.topic.slug}))
            if ticket.first_response_at:
                rows.append(TicketEvent(ticket=ticket, kind="replied", created_at=ticket.first_response_at))
            if rng.random() < 0.1 and ticket.first_response_at:
                pause = ticket.first_response_at
                rows.append(
                    TicketEvent(
                        ticket=ticket,
                        kind="status_changed",
                        created_at=pause,
                        data={"previous": "open", "status": "pending"},
                    )
                )
                rows.append(
                    TicketEvent(
                        ticket=ticket,
                        kind="status_changed",
                        created_at=pause + timedelta(hours=10),
                        data={"previous": "pending", "status": "open"},
                    )
                )
            if rng.random() < 0.06:
                rows.append(
                    TicketEvent(
                        ticket=ticket, kind="transferred", created_at=at, data={"from_service": "a", "to_service": "b"}
                    )
                )
            if rng.random() < 0.03:
                rows.append(TicketEvent(ticket=ticket, kind="corrected", created_at=at, data={"from_topic": "t0"}))
            if ticket.resolved_at:
                rows.append(
                    TicketEvent(
                        ticket=ticket,
                        kind="status_changed",
                        created_at=ticket.resolved_at,
                        data={"previous": "open", "status": "resolved"},
                    )
                )
                if rng.random() < 0.25:
                    rows.append(
                        TicketEvent(
                            ticket=ticket,
                            kind="rated",
                            created_at=ticket.resolved_at,
                            data={"score": rng.randint(1, 5)},
                        )
                    )
        TicketEvent.objects.bulk_create(rows, batch_size=10000)
        events += len(rows)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return user, organisation, events


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    fresh_database()
    t0 = time.perf_counter()
    user, organisation, events = generate(args.tickets)
    generated_s = time.perf_counter() - t0

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

    live = dashboard_latencies()  # no aggregates built yet: everything computed live
    report = rebuild()
    latencies = dashboard_latencies()
    filters = parse_filters(params, user)
    per_indicator = {}
    for key in INDICATORS:
        t = time.perf_counter()
        compute(Scope(user, filters), key)
        per_indicator[key] = round((time.perf_counter() - t) * 1000, 1)
    slowest = dict(sorted(per_indicator.items(), key=lambda kv: -kv[1])[:4])
    emit(
        {
            "bench": "indicators",
            "tickets": args.tickets,
            "events": events,
            "generate_s": round(generated_s, 1),
            "dashboard_quarter_live": summary_ms(live),
            "dashboard_quarter": summary_ms(latencies),
            "rebuild": {
                "s": round(report.seconds, 1),
                "ticket_facts": report.tickets,
                "daily_aggregates": report.aggregates,
                "rows_per_s": report.rows_per_second,
            },
            "slowest_indicators_ms": slowest,
        }
    )


if __name__ == "__main__":
    main()
