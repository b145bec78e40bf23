"""The agents' inbox at scale: 1,000,000 tickets and 3,000,000 messages over
30 services and 200 agents (bench/history.py), then the inbox views, the
French full-text search and the ticket page, through Django's test client
as an agent of two services.

Usage: .venv/bin/python bench/inbox_scale.py [--tickets 1000000] [--requests 60]
Prints one JSON line: p50/p95 per page and the SQL queries each made (the
same number whatever the page: the tests assert the counts).
"""

import argparse
import random
import sys
import time
from urllib.parse import urlencode

from common import emit, fresh_database, summary_ms

SEARCHES = [
    "rsa",
    "expulsion loyer",
    "électricité",
    "coupure chauffage",
    '"maison retraite"',
    "cantine -collège",
    "mdph",
]


def measure(client, urls):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    latencies, queries = [], set()
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            response = client.get(url)
            latencies.append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        queries.add(len(captured))
    return {**summary_ms(latencies), "queries": sorted(queries)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument(
        "--reuse", action="store_true", help="measure the history an earlier run left in BENCH_DATABASE (no new load)"
    )
    args = parser.parse_args()

    fresh_database(reuse=args.reuse)
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bench import history
    from contacts.inbox import queries
    from contacts.models import Ticket

    log = lambda line: print(line, flush=True, file=sys.stderr)  # noqa: E731
    made = history.existing() if args.reuse else history.generate(args.tickets, log=log)
    rng = random.Random(5)
    agent = get_user_model().objects.get(username="agent001")
    client = Client(HTTP_HOST="localhost")
    client.force_login(agent)

    views = list(queries.VIEWS)
    view_urls = [f"/agents/?view={views[i % len(views)]}" for i in range(args.requests)]
    # Deeper pages too: the cursor of each view's first page.
    search_urls = [
        "/agents/?" + urlencode({"view": "all", "q": SEARCHES[i % len(SEARCHES)]}) for i in range(args.requests)
    ]
    visible = list(Ticket.objects.visible_to(agent).order_by("?").values_list("reference", flat=True)[: args.requests])
    ticket_urls = [f"/agents/demandes/{reference}/" for reference in visible]
    rng.shuffle(view_urls)

    for url in view_urls[:5] + search_urls[:3] + ticket_urls[:3]:  # warm the caches a running server has
        client.get(url)
    inbox = measure(client, view_urls)
    search = measure(client, search_urls)
    ticket = measure(client, ticket_urls)
    emit(
        {
            "bench": "inbox_scale",
            "tickets": made["tickets"],
            "messages": made["messages"],
            "services": made["services"],
            "agents": made["agents"],
            "generate_s": made["generate_s"],
            "inbox_view": inbox,
            "search": search,
            "ticket_page": ticket,
            "targets_p95_ms": {"inbox_view": 50, "search": 150, "ticket_page": 50},
        }
    )


if __name__ == "__main__":
    main()
