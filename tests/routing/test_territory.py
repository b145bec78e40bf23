"""Territory and competence: which candidate service, and orientation to
another administration. Rules pick the topic here, so that these tests do
not depend on what the text matcher understands."""

import pytest

from contacts.inbound import InboundMessage
from contacts.models import Message, Outbox
from contacts.services import ingest
from kb.models import ContactPoint, Organisation, Service, Topic, TopicService
from routing.models import Rule
from routing.territory import choose_service, postcode_in_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("J'habite au 12 rue des Lilas, 99300 Bussac", "99300"),
        ("code postal:99100.", "99100"),
        ("appelez le 06 12 34 56 78 ou le 0612345678", ""),
        ("dossier n°1234567 du 12/05/2026", ""),
        ("00123 n'existe pas, 20000 Ajaccio oui", "20000"),
        ("", ""),
    ],
)
def test_postcode_found_in_the_text(text, expected):
    assert postcode_in_text(text) == expected


def test_the_service_covering_the_place_wins_else_one_without_territory_else_the_first():
    north = Service(slug="nord", postcodes=["99100"])
    south = Service(slug="sud", postcodes=["99300"], insee=["99320"])
    everywhere = Service(slug="siege")
    assert choose_service([north, south], "99300")[0] is south
    assert choose_service([north, south], "", "99320")[0] is south
    assert choose_service([north, everywhere, south], "99999")[0] is everywhere
    assert choose_service([north, south], "99999")[0] is north
    assert choose_service([north, south], "")[0] is north
    service, reason = choose_service([], "99300")
    assert service is None and reason


@pytest.fixture
def shared_kb(organisation):
    """cd99 with two territorial services for one topic, and a partner
    organisation competent for another."""
    north = Service.objects.create(organisation=organisation, slug="mds-nord", name="MDS Nord", postcodes=["99100"])
    south = Service.objects.create(organisation=organisation, slug="mds-sud", name="MDS Sud", postcodes=["99300"])
    aid = Topic.objects.create(organisation=organisation, slug="aide-sociale", title="Aide sociale")
    TopicService.objects.create(topic=aid, service=north, position=0)
    TopicService.objects.create(topic=aid, service=south, position=1)

    partner = Organisation.objects.create(slug="partenaires", name="Partenaires de l'État", kind="partenaire")
    caf = Service.objects.create(organisation=partner, slug="caf", name="Caisse d'allocations familiales")
    ContactPoint.objects.create(service=caf, kind="phone", value="32 30", hours="lun-ven 9h-16h", position=0)
    ContactPoint.objects.create(service=caf, kind="online", value="https://caf.example/mon-compte", position=1)
    benefits = Topic.objects.create(organisation=partner, slug="prestations-caf", title="Prestations familiales")
    TopicService.objects.create(topic=benefits, service=caf)

    Rule.objects.create(organisation=organisation, name="aide", body_regex=r"\baide\b", set_topic=aid)
    Rule.objects.create(organisation=organisation, name="caf", body_regex=r"\bcaf\b", set_topic=benefits, stop=True)
    return {"north": north, "south": south, "caf": caf, "partner": partner}


def send(text, **extra):
    n = Message.objects.count() + 1
    values = {
        "channel": "email",
        "external_id": f"<territory-{n}@citoyen.example>",
        "organisation": "cd99",
        "sender_email": f"c{n}@citoyen.example",
        "subject": "Demande",
        "text": text,
    }
    values.update(extra)
    return ingest(InboundMessage(**values)).ticket


def routed(ticket):
    return ticket.events.get(kind="routed").data


@pytest.mark.django_db
def test_the_contacts_postcode_picks_the_service(shared_kb):
    ticket = send("Je voudrais une aide", postcode="99300")
    assert ticket.service == shared_kb["south"]
    assert routed(ticket)["postcode"] == "99300"
    assert "99300" in routed(ticket)["territory"]
    assert routed(ticket)["decided_by"] == "rule"


@pytest.mark.django_db
def test_a_postcode_written_in_the_text_picks_the_service(shared_kb):
    ticket = send("Je voudrais une aide, j'habite 3 place du Marché 99300 Bussac")
    assert ticket.service == shared_kb["south"]


@pytest.mark.django_db
def test_without_a_place_the_first_candidate(shared_kb):
    ticket = send("Je voudrais une aide")
    assert ticket.service == shared_kb["north"]
    assert routed(ticket)["territory"] == "first candidate"
    assert ticket.oriented_to is None


@pytest.mark.django_db
def test_another_administration_competent_the_citizen_is_told_by_email(organisation, shared_kb):
    ticket = send("Question sur ma CAF")
    ticket.refresh_from_db()

    assert ticket.oriented_to == shared_kb["caf"]
    assert ticket.service == organisation.triage_service()  # our own queue keeps it in view
    assert routed(ticket)["oriented_to"] == "partenaires/caf"
    assert ticket.events.get(kind="oriented").data["told"] == "email"
    told = Outbox.objects.get(ticket=ticket, channel="email", message__isnull=False)
    assert told.recipient == ticket.contact.email
    for expected in ["Caisse d'allocations familiales", "Partenaires de l'État", "32 30", "https://caf.example"]:
        assert expected in told.payload["text"]
    assert ticket.messages.filter(direction="out", body_text=told.payload["text"]).exists()
    assert ticket.assignee is None


@pytest.mark.django_db
def test_oriented_by_sms_when_there_is_no_email_and_consent(shared_kb):
    ticket = send("Question CAF", channel="sms", sender_email="", sender_phone="+33639980101", sms_consent=True)
    assert ticket.events.get(kind="oriented").data["told"] == "sms"
    sms = Outbox.objects.get(ticket=ticket, channel="sms", message__isnull=False)
    assert sms.recipient == "+33639980101"
    assert "32 30" in sms.payload["text"]


@pytest.mark.django_db
def test_oriented_but_unreachable_is_recorded_not_a_crash(shared_kb):
    ticket = send("Question CAF", channel="sms", sender_email="", sender_phone="+33639980102", sms_consent=False)
    assert ticket.oriented_to == shared_kb["caf"]
    assert ticket.events.get(kind="oriented").data["told"] is None
