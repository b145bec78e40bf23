"""The whole routing decision, through ingest, on the shared test datasets."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from contacts.inbound import InboundMessage
from contacts.models import AgentProfile, Outbox, Ticket
from contacts.services import change_topic, ingest
from kb.models import Organisation, Service, Topic

DATASETS = settings.BASE_DIR.parent / "shared" / "datasets"


@pytest.fixture
def cd99(db):
    from kb.importer import import_files

    import_files([DATASETS / "cd99.yaml", DATASETS / "partners.yaml"])
    return Organisation.objects.get(slug="cd99")


def send(text, subject="", **extra):
    counter = Ticket.objects.count() + Outbox.objects.count() + 1
    values = {
        "channel": "email",
        "external_id": f"<route-{counter}-{abs(hash(text))}@citoyen.example>",
        "organisation": "cd99",
        "sender_email": f"citoyen{counter}@citoyen.example",
        "subject": subject,
        "text": text,
    }
    values.update(extra)
    return ingest(InboundMessage(**values)).ticket


def routed(ticket):
    return ticket.events.get(kind="routed").data


def test_a_clear_request_goes_to_the_competent_service(cd99):
    ticket = send("Bonjour, je n'ai pas reçu mon RSA ce mois-ci, le versement n'est pas arrivé.")
    assert ticket.topic.slug.startswith("rsa")
    assert str(ticket.service) == "cd99/insertion"
    assert not ticket.not_understood
    data = routed(ticket)
    assert data["match"]["topic"].startswith("cd99/rsa")
    assert data["match"]["confidence"] > 0


def test_what_nobody_understands_goes_to_triage_flagged(cd99):
    ticket = send("Félicitations ! Vous avez gagné un smartphone, cliquez ici pour le réclamer.")
    assert ticket.not_understood
    assert ticket.topic is None
    assert ticket.service == cd99.triage_service()
    assert routed(ticket)["abstained"] is True


@pytest.mark.parametrize("text", ["", "😀😀😀", "Привет, как дела? Мне нужна помощь", "demande " * 150_000])
def test_odd_texts_are_routed_or_abstained_never_a_crash(cd99, text):
    ticket = send(text, subject="")
    assert ticket.service is not None
    assert ticket.events.filter(kind="routed").count() == 1


def test_territory_picks_the_service_covering_the_postcode(cd99):
    ticket = send(
        "J'ai reçu un avis d'expulsion, la police doit venir nous expulser jeudi avec les enfants",
        channel="sms",
        sender_email="",
        sender_phone="+33639980101",
        postcode="99300",
    )
    assert str(ticket.service) == "cd99/mds-sud"
    assert "99300" in routed(ticket)["territory"]


def test_urgent_request_gets_priority_on_call_agents_and_emergency_numbers(cd99):
    service = Service.objects.get(organisation=cd99, slug="mds-sud")
    user = get_user_model().objects.create_user("astreinte", email="astreinte@cd99.example")
    agent = AgentProfile.objects.create(user=user, organisation=cd99, on_call=True)
    agent.services.add(service)

    ticket = send(
        "Mon conjoint violent me menace et j'ai peur pour ma vie, je suis à Bussac 99320, que faire ?",
        subject="Aidez-moi",
    )

    assert ticket.priority == Ticket.Priority.URGENT
    assert routed(ticket)["urgency"]
    ack = Outbox.objects.get(ticket=ticket, idempotency_key=f"ack:{ticket.pk}")
    assert "3919" in ack.payload["text"]
    assert ticket.service == service  # Bussac (99320) is in the south MDS territory
    assert Outbox.objects.filter(recipient="astreinte@cd99.example", ticket=ticket).exists()
    assert ticket.events.get(kind="urgent_notified").data["agents"] == ["astreinte"]


def test_another_administration_competent_means_oriented_with_its_contact_points(cd99):
    ticket = send("Comment m'inscrire à France Travail ? j'ai perdu mon emploi")

    assert ticket.oriented_to is not None
    assert ticket.oriented_to.organisation.slug == "partenaires"
    assert ticket.events.filter(kind="oriented").exists()
    orientation = Outbox.objects.filter(ticket=ticket).exclude(idempotency_key=f"ack:{ticket.pk}").get()
    assert ticket.oriented_to.name in orientation.payload["text"]
    first_point = ticket.oriented_to.contact_points.first()
    assert first_point.value in orientation.payload["text"]


def test_a_rule_before_the_matcher_decides_and_is_recorded(cd99):
    from routing.models import Rule

    routes = Service.objects.get(organisation=cd99, slug="routes")
    Rule.objects.create(
        organisation=cd99,
        name="Mairies vers routes",
        stage="before",
        sender_pattern="@mairie-test.example",
        set_service=routes,
        stop=True,
    )
    ticket = send("Bonjour, je n'ai pas reçu mon RSA", sender_email="secretariat@mairie-test.example")
    assert ticket.service == routes
    assert routed(ticket)["rules"]


def test_an_agents_topic_change_is_recorded_as_a_correction(cd99, admin_user):
    from routing.models import RoutingCorrection

    ticket = send("Félicitations ! Vous avez gagné un smartphone.")
    topic = Topic.objects.get(organisation=cd99, slug="rsa-versement")
    change_topic(ticket, admin_user, topic)
    correction = RoutingCorrection.objects.get(ticket=ticket)
    assert correction.to_topic == topic
    assert ticket.events.filter(kind="corrected").exists()
