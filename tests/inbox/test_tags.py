"""Free tags on a request: added and removed from the ticket page,
normalised, limited, recorded as events, offered as suggestions and as an
inbox filter."""

import pytest
from django.core.cache import cache

from contacts.models import TAG_MAX_LENGTH, TAGS_MAX, Ticket, TicketEvent
from contacts.services import TicketActionError
from contacts.services.tags import add_tag, remove_tag


def url(ticket, action=""):
    return f"/agents/demandes/{ticket.reference}/{action + '/' if action else ''}"


@pytest.fixture(autouse=True)
def _no_cached_suggestions():
    cache.clear()


def tags_and_events(ticket):
    ticket = Ticket.objects.get(pk=ticket.pk)
    return list(ticket.tags), ticket.events.filter(kind=TicketEvent.Kind.TAGS_CHANGED).count()


@pytest.mark.django_db
def test_agent_adds_and_removes_a_tag_from_the_ticket_page(world, login):
    alice = world.users["alice"]
    client = login(alice)
    rsa = world.ticket("rsa")
    before = list(rsa.tags)

    response = client.post(url(rsa, "etiquettes"), {"tag": "  Dossier   Incomplet "})
    assert response.status_code == 302
    assert tags_and_events(rsa) == ([*before, "dossier incomplet"], 1)
    event = TicketEvent.objects.get(ticket=rsa, kind=TicketEvent.Kind.TAGS_CHANGED)
    assert event.actor == alice and event.data == {"added": "dossier incomplet"}

    html = client.get(url(rsa)).content.decode()
    assert "Étiquette ajoutée." in html
    assert "Ajoutée : dossier incomplet" in html  # the timeline
    assert 'aria-label="Retirer l’étiquette dossier incomplet"' in html
    assert "?view=all&amp;tag=dossier%20incomplet" in html

    response = client.post(url(rsa, "etiquettes/retirer"), {"tag": "dossier incomplet"})
    assert response.status_code == 302
    assert tags_and_events(rsa) == (before, 2)
    assert "Retirée : dossier incomplet" in client.get(url(rsa)).content.decode()


@pytest.mark.django_db
def test_bad_tags_are_refused_in_french_and_change_nothing(world, login):
    client = login(world.users["alice"])
    rsa = world.ticket("rsa")
    client.post(url(rsa, "etiquettes"), {"tag": "urgent"})
    before = tags_and_events(rsa)

    cases = [
        ({"tag": "x" * (TAG_MAX_LENGTH + 1)}, f"Une étiquette a au plus {TAG_MAX_LENGTH} caractères"),
        ({"tag": "   "}, "L’étiquette est vide."),
        ({"tag": "URGENT"}, "La demande a déjà l’étiquette « urgent »."),
    ]
    for data, french in cases:
        response = client.post(url(rsa, "etiquettes"), data)
        assert response.status_code == 400, data
        assert french in response.content.decode(), data
    response = client.post(url(rsa, "etiquettes/retirer"), {"tag": "absente"})
    assert response.status_code == 400
    assert "La demande n’a pas l’étiquette « absente »." in response.content.decode()
    assert tags_and_events(rsa) == before


@pytest.mark.django_db
def test_a_ticket_has_at_most_so_many_tags(world):
    alice = world.users["alice"]
    rsa = world.ticket("rsa")
    Ticket.objects.filter(pk=rsa.pk).update(tags=[f"t{i}" for i in range(TAGS_MAX)])
    before = tags_and_events(rsa)
    with pytest.raises(TicketActionError, match=f"Une demande a au plus {TAGS_MAX} étiquettes"):
        add_tag(rsa, alice, "une de trop")
    assert tags_and_events(rsa) == before
    remove_tag(rsa, alice, "t0")
    assert add_tag(rsa, alice, "Une De Plus") == "une de plus"
    assert Ticket.objects.get(pk=rsa.pk).tags[-1] == "une de plus"


@pytest.mark.django_db
def test_tags_of_an_invisible_ticket_answer_404(world, login):
    client = login(world.users["alice"])
    for ticket in (world.ticket("secret"), world.ticket("elsewhere")):
        before = tags_and_events(ticket)
        assert client.post(url(ticket, "etiquettes"), {"tag": "vu"}).status_code == 404
        assert client.post(url(ticket, "etiquettes/retirer"), {"tag": "vu"}).status_code == 404
        assert tags_and_events(ticket) == before


@pytest.mark.django_db
def test_suggestions_and_inbox_filter(world, login):
    client = login(world.users["alice"])
    rsa, rsa2 = world.ticket("rsa"), world.ticket("rsa2")
    client.get(url(rsa))  # suggestions read (and cached) before the tag exists
    client.post(url(rsa, "etiquettes"), {"tag": "Relance CAF"})
    add_tag(world.ticket("elsewhere"), world.users["olga"], "autre organisation")

    # Suggested on another ticket's page (the cache forgot the old list),
    # never another organisation's tags.
    html = client.get(url(rsa2)).content.decode()
    datalist = html.split('<datalist id="tag-suggestions">')[1].split("</datalist>")[0]
    assert '<option value="relance caf">' in datalist
    assert "autre organisation" not in datalist
    assert 'list="tag-suggestions"' in html

    # The inbox offers the tag filter with the same suggestions, and it filters.
    page = client.get("/agents/", {"view": "all", "tag": "relance caf"})
    html = page.content.decode()
    assert 'name="tag"' in html and 'list="tag-suggestions"' in html
    assert '<option value="relance caf">' in html
    assert rsa.reference in html and rsa2.reference not in html


@pytest.mark.django_db
def test_suggestions_never_carry_the_tags_of_sensitive_or_purged_requests(world):
    from contacts.inbox import tags
    from contacts.services.privacy import purge_ticket

    chloe, alice = world.users["chloe"], world.users["alice"]
    add_tag(world.ticket("secret"), chloe, "signalement-famille-dupont")
    add_tag(world.ticket("rsa"), alice, "relance-caf")
    add_tag(world.ticket("rsa2"), alice, "usager-martin")
    cache.clear()
    offered = tags.suggestions(world.organisation.pk)
    assert "relance-caf" in offered and "usager-martin" in offered
    assert "signalement-famille-dupont" not in offered
    purge_ticket(world.ticket("rsa2"), "test")
    assert Ticket.objects.get(pk=world.ticket("rsa2").pk).tags == []
    cache.clear()
    assert "usager-martin" not in tags.suggestions(world.organisation.pk)
