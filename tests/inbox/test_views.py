"""The inbox lists: views, counts, filters, French full-text search, keyset
pagination, htmx partials and a constant number of queries."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.inbox import queries
from contacts.models import Ticket
from contacts.services import ingest
from tests.inbox.world import inbound


def link(ticket):
    return f'href="/agents/demandes/{ticket.reference}/"'


def listed(client, **params):
    response = client.get("/agents/", params)
    assert response.status_code == 200, response.content.decode()[:500]
    return response.content.decode()


@pytest.mark.django_db
def test_each_view_lists_what_it_says(world, login):
    alice, bruno = world.users["alice"], world.users["bruno"]
    rsa, rsa2, apa = world.ticket("rsa"), world.ticket("rsa2"), world.ticket("apa")
    Ticket.objects.filter(pk=rsa.pk).update(assignee=alice)
    Ticket.objects.filter(pk=apa.pk).update(status=Ticket.Status.PENDING, assignee=bruno)
    Ticket.objects.filter(pk=rsa2.pk).update(due_at=timezone.now() + timedelta(hours=1), priority="urgent")
    client = login(alice)

    mine = listed(client)  # the default view
    assert link(rsa) in mine and link(rsa2) not in mine

    unassigned = listed(client, view="unassigned")  # insertion and accueil, nobody on it
    assert link(rsa2) in unassigned and link(rsa) not in unassigned and link(apa) not in unassigned

    urgent = listed(client, view="urgent")
    assert link(rsa2) in urgent and link(rsa) not in urgent

    at_risk = listed(client, view="at-risk")
    assert link(rsa2) in at_risk and link(apa) not in at_risk

    waiting = listed(client, view="waiting")
    assert link(apa) in waiting and link(rsa) not in waiting

    everything = listed(client, view="all")
    assert all(link(t) in everything for t in (rsa, rsa2, apa))

    Ticket.objects.filter(pk=rsa.pk).update(status=Ticket.Status.CLOSED)
    closed = listed(client, view="closed")
    assert link(rsa) in closed and link(rsa2) not in closed
    assert link(rsa) not in listed(client)

    assert client.get("/agents/", {"view": "nimporte"}).status_code == 404


@pytest.mark.django_db
def test_the_due_soon_window_is_a_setting(world, login, settings):
    rsa2 = world.ticket("rsa2")
    Ticket.objects.filter(pk=rsa2.pk).update(due_at=timezone.now() + timedelta(hours=6))
    client = login(world.users["alice"])
    assert link(rsa2) not in listed(client, view="at-risk")  # 4 hours by default
    settings.INBOX_DUE_SOON_HOURS = 8
    assert link(rsa2) in listed(client, view="at-risk")


@pytest.mark.django_db
def test_counts_per_view_in_one_query(world, login):
    alice = world.users["alice"]
    Ticket.objects.filter(pk=world.tickets["rsa"].pk).update(assignee=alice)
    counts = queries.view_counts(alice, alice.agent)
    # alice sees rsa, rsa2, apa (not the sensitive one, not the other organisation's)
    assert counts == {
        "mine": 1,
        "unassigned": 1,
        "urgent": 0,
        "at-risk": counts["at-risk"],
        "waiting": 0,
        "all": None,  # the history's views are not counted
        "closed": None,
    }
    assert (
        login(world.users["chloe"])
        and queries.view_counts(world.users["chloe"], world.users["chloe"].agent)["urgent"] == 1
    )
    with CaptureQueriesContext(connection) as captured:
        queries.view_counts(alice, alice.agent)
    assert len(captured) == 2  # the agent's profile (scoping), then one aggregate
    html = listed(login(alice), view="all")
    assert 'data-view="all"' not in html
    assert '<span class="count" data-view="mine">1</span>' in html


@pytest.mark.django_db
def test_filters(world, login):
    client = login(world.users["alice"])
    rsa, rsa2, apa = world.ticket("rsa"), world.ticket("rsa2"), world.ticket("apa")
    by_channel = listed(client, view="all", channel="sms")
    assert link(apa) in by_channel and link(rsa) not in by_channel
    by_service = listed(client, view="all", service=rsa.service_id)
    assert link(rsa) in by_service and link(apa) not in by_service
    by_topic = listed(client, view="all", topic=apa.topic_id)
    assert link(apa) in by_topic and link(rsa) not in by_topic
    Ticket.objects.filter(pk=rsa2.pk).update(assignee=world.users["bruno"], tags=["relance"])
    assert link(rsa2) in listed(client, view="all", assignee=world.users["bruno"].pk)
    assert link(rsa2) not in listed(client, view="all", assignee="none")
    assert link(rsa) in listed(client, view="all", assignee="none")
    tagged = listed(client, view="all", tag="relance")
    assert link(rsa2) in tagged and link(rsa) not in tagged
    today = timezone.localdate().isoformat()
    assert link(rsa) in listed(client, view="all", created_from=today, created_to=today)
    assert link(rsa) not in listed(client, view="all", created_to="2020-01-01")
    by_status = listed(client, view="all", status="new", priority="normal")
    assert link(rsa) in by_status


@pytest.mark.django_db
def test_bad_filters_get_a_french_error(world, login):
    client = login(world.users["alice"])
    response = client.get("/agents/", {"view": "all", "created_from": "2026-05-02", "created_to": "2026-05-01"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "La date de fin est antérieure à la date de début." in html
    assert "Certains filtres ne sont pas valides" in html
    response = client.get("/agents/", {"view": "all", "channel": "pigeon"})
    assert response.status_code == 400
    assert "Sélectionnez un choix valide" in response.content.decode()
    # Another organisation's service is not a choice.
    other = world.other.services.get()
    assert client.get("/agents/", {"view": "all", "service": other.pk}).status_code == 400


@pytest.mark.django_db
def test_french_full_text_search(world, login):
    client = login(world.users["alice"])
    rsa, rsa2, apa = world.ticket("rsa"), world.ticket("rsa2"), world.ticket("apa")
    # Stemmed and unaccented: "versements" finds "versement", "echeance" finds "échéance".
    found = listed(client, view="all", q="versements")
    assert link(rsa) in found and link(rsa2) not in found
    assert link(rsa2) in listed(client, view="all", q="ECHEANCE")
    assert link(apa) in listed(client, view="all", q="mere agee")
    # By reference, by email, by the citizen's name.
    assert link(apa) in listed(client, view="all", q=apa.reference)
    by_name = listed(client, view="all", q="Durand")
    assert link(rsa) in by_name and link(rsa2) in by_name and link(apa) not in by_name
    assert link(rsa) in listed(client, view="all", q="usager1@citoyen.example")
    # Web-search syntax: a word excluded.
    excluded = listed(client, view="all", q="Durand -échéance")
    assert link(rsa) in excluded and link(rsa2) not in excluded
    assert "Aucune demande ici." in listed(client, view="all", q="zzzzintrouvable")
    # Words are looked for across fields: the name in the contact, the word in a message.
    across = listed(client, view="all", q="Durand versement")
    assert link(rsa) in across and link(rsa2) not in across
    # Stop words alone do not empty the result.
    assert link(rsa) in listed(client, view="all", q="mon RSA")


@pytest.mark.django_db
def test_search_uses_the_tickets_search_document_index(world):
    """Words are searched in one indexed document per ticket."""
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        sql, params = queries.matching_words(Ticket.objects.all(), "versement").values("pk").query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "inbox_ticket_search_document" in plan


@pytest.mark.django_db
def test_keyset_pagination(world, login, monkeypatch):
    alice = world.users["alice"]
    base = timezone.now() - timedelta(days=1)
    for n in range(7):
        ticket = ingest(inbound(100 + n, subject=f"Demande numéro {n}", text="Bonjour, une question.")).ticket
        Ticket.objects.filter(pk=ticket.pk).update(created_at=base + timedelta(minutes=n // 2))  # ties on purpose
    tickets = Ticket.objects.visible_to(alice)
    view = queries.VIEWS["all"]
    seen, cursor = [], None
    while True:
        rows, cursor = queries.page(tickets, view, cursor, size=3)
        seen += [row.pk for row in rows]
        if cursor is None:
            break
    expected = list(tickets.order_by("-created_at", "-pk").values_list("pk", flat=True))
    assert seen == expected and len(seen) == 10

    client = login(alice)
    assert "Demandes suivantes" not in listed(client, view="all")  # 10 fit on one page
    monkeypatch.setattr(queries, "PAGE_SIZE", 4)
    first = listed(client, view="all")
    assert first.count('<a href="/agents/demandes/') == 4
    assert "Demandes suivantes" in first
    next_url = re.search(r'hx-get="([^"]+)"', first.split('class="more"')[1]).group(1).replace("&amp;", "&")
    more = client.get(next_url, HTTP_HX_REQUEST="true")
    assert more.status_code == 200
    body = more.content.decode()
    assert body.lstrip().startswith("<tr")  # rows only, appended by htmx
    shown = re.findall(r'<a href="/agents/demandes/([^/]+)/', body)
    references = dict(Ticket.objects.values_list("pk", "reference"))
    assert shown == [references[pk] for pk in expected[4:8]]

    bad = client.get("/agents/", {"view": "all", "after": "pas-un-curseur!"})
    assert bad.status_code == 400
    assert "Ce lien de page n’est pas valide" in bad.content.decode()


@pytest.mark.django_db
def test_htmx_requests_get_the_results_alone(world, login):
    client = login(world.users["alice"])
    response = client.get("/agents/", {"view": "all", "q": "RSA"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="view-list" hx-swap-oob="true"' in html
    assert link(world.tickets["rsa"]) in html


@pytest.mark.django_db
def test_the_list_costs_a_constant_number_of_queries(world, login):
    client = login(world.users["alice"])
    client.get("/agents/", {"view": "all"})  # warm the session

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/agents/", {"view": "all", "q": "bonjour"}).status_code == 200
        return len(captured)

    before = count()
    for n in range(15):
        ingest(inbound(200 + n, subject=f"Bonjour {n}", text="Bonjour, une question sur le RSA."))
    assert count() == before


@pytest.mark.django_db
def test_filter_errors_reach_an_htmx_update(world, login):
    client = login(world.users["alice"])
    response = client.get("/agents/", {"view": "all", "channel": "pigeon"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    html = response.content.decode()
    assert "<html" not in html
    assert "Canal : Sélectionnez un choix valide" in html
