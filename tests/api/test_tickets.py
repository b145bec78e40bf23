"""Listing, searching and reading tickets through the agents' API: the
inbox's views, filters and keyset pages, with a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.inbox import queries
from contacts.models import AccessLog
from contacts.services import ingest
from tests.inbox.world import inbound

LIST = "/api/v1/tickets/"


def references(response):
    return [row["reference"] for row in response.json()["results"]]


@pytest.mark.django_db
def test_the_list_holds_what_the_agent_may_see_newest_first(world, api):
    response = api(world.users["alice"]).get(LIST)
    assert response.status_code == 200
    assert references(response) == [world.tickets[name].reference for name in ["apa", "rsa2", "rsa"]]
    row = response.json()["results"][2]
    assert row["service"] == {"slug": "insertion", "name": "Direction de l'insertion et de l'emploi"}
    assert row["topic"]["slug"] == "rsa-versement"
    assert row["status_label"] == "Nouvelle"
    assert row["created_at"].endswith("+01:00")  # the organisation's time zone
    assert response.json()["next_cursor"] is None


@pytest.mark.django_db
def test_views_filters_and_french_search(world, api):
    client = api(world.users["alice"])
    rsa = world.tickets["rsa"].reference
    assert references(client.get(LIST, {"q": "versement retardé"})) == [rsa]  # stemmed, accents ignored
    assert references(client.get(LIST, {"q": "RSA -versement"})) == []
    assert references(client.get(LIST, {"q": rsa})) == [rsa]
    assert references(client.get(LIST, {"channel": "sms"})) == [world.tickets["apa"].reference]
    assert references(client.get(LIST, {"view": "mine"})) == []
    client.post(f"/api/v1/tickets/{rsa}/claim/")
    assert references(client.get(LIST, {"view": "mine"})) == [rsa]
    assert references(client.get(LIST, {"assignee": "me"})) == [rsa]
    assert references(client.get(LIST, {"view": "closed"})) == []


@pytest.mark.django_db
def test_bad_filters_say_what_is_wrong_and_where(world, api):
    client = api(world.users["alice"])
    cases = [
        ({"view": "everything"}, "view", "Choisissez parmi"),
        ({"status": "lost"}, "status", "Sélectionnez un choix valide"),
        ({"created_from": "hier"}, "created_from", "Saisissez une date valide"),
        ({"created_from": "2026-12-02", "created_to": "2026-12-01"}, "created_to", "date de fin"),
        ({"service": "999999"}, "service", "Sélectionnez un choix valide"),
        ({"cursor": "pas-un-curseur"}, "cursor", "n’est pas valide"),
    ]
    for params, field, text in cases:
        response = client.get(LIST, params)
        assert response.status_code == 400, params
        assert text in " ".join(response.json()[field]), response.json()


@pytest.mark.django_db
def test_a_service_of_another_organisation_is_not_a_filter(world, api):
    mairie = world.other.services.get(slug="mairie")
    response = api(world.users["alice"]).get(LIST, {"service": mairie.pk})
    assert response.status_code == 400
    assert "service" in response.json()


@pytest.mark.django_db
def test_keyset_pages_cover_every_ticket_once(world, api, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    client = api(world.users["alice"])
    first = client.get(LIST).json()
    assert len(first["results"]) == 2 and first["next_cursor"]
    assert first["next"].startswith("http://testserver/api/v1/tickets/?cursor=")
    second = client.get(first["next"]).json()
    assert second["next_cursor"] is None
    seen = [row["reference"] for row in first["results"] + second["results"]]
    assert seen == [world.tickets[name].reference for name in ["apa", "rsa2", "rsa"]]


def _count_queries(client, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST, params or {})
    assert response.status_code == 200
    return len(captured), len(response.json()["results"])


@pytest.mark.django_db
def test_the_list_costs_the_same_queries_for_3_or_23_tickets(world, api, django_assert_max_num_queries):
    client = api(world.users["alice"])
    client.post(f"/api/v1/tickets/{world.tickets['rsa'].reference}/claim/")  # an assignee to load
    few, rows = _count_queries(client)
    assert rows == 3
    for n in range(20):
        ingest(inbound(100 + n, subject=f"Question {n}", text="Bonjour, une question sur le RSA."))
    many, rows = _count_queries(client)
    assert rows == 23
    assert many == few
    searched, _rows = _count_queries(client, {"q": "question RSA", "status": "new"})
    with django_assert_max_num_queries(8):
        client.get(LIST, {"q": "question RSA", "status": "new"})
    assert searched <= 8


@pytest.mark.django_db
def test_detail_has_the_timeline_and_the_reply_channels(world, api):
    client = api(world.users["alice"])
    rsa = world.tickets["rsa"].reference
    client.post(f"/api/v1/tickets/{rsa}/note/", {"text": "À vérifier avec la CAF"}, format="json")
    response = client.get(f"/api/v1/tickets/{rsa}/")
    assert response.status_code == 200
    data = response.json()
    assert data["contact"]["email"] == "usager1@citoyen.example"
    assert data["reply_channels"] == ["email", "form"]
    incoming, note = data["messages"]
    assert incoming["direction"] == "in" and not incoming["internal"]
    assert incoming["attachments"][0]["filename"] == "releve.txt"
    assert incoming["attachments"][0]["url"].startswith("/agents/pieces/")
    assert note["internal"] and note["author"]["username"] == "alice"
    routed = next(event for event in data["events"] if event["kind"] == "routed")
    assert routed["label"] == "Aiguillée"
    assert "Service : Direction de l'insertion et de l'emploi" in routed["details"]


@pytest.mark.django_db
def test_opening_a_sensitive_ticket_is_in_the_audit_log(world, api):
    secret = world.ticket("secret")
    assert api(world.users["chloe"]).get(f"/api/v1/tickets/{secret.reference}/").status_code == 200
    log = AccessLog.objects.get(ticket=secret)
    assert (log.user, log.what) == (world.users["chloe"], "api")
    api(world.users["alice"]).get(f"/api/v1/tickets/{world.tickets['rsa'].reference}/")
    assert AccessLog.objects.count() == 1
