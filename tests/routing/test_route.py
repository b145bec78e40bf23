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


def test_a_rule_before_the_text_analysis_decides_and_is_recorded(cd99):
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
    data = routed(ticket)
    assert data["rules"] == [{"id": Rule.objects.get().pk, "name": "Mairies vers routes"}]
    assert data["decided_by"] == "rule"
    assert "abstained" not in data  # the stop rule skipped the matcher


def test_an_agents_topic_change_is_recorded_as_a_correction(cd99, admin_user):
    from routing.models import RoutingCorrection

    ticket = send("Félicitations ! Vous avez gagné un smartphone.")
    topic = Topic.objects.get(organisation=cd99, slug="rsa-versement")
    change_topic(ticket, admin_user, topic)
    correction = RoutingCorrection.objects.get(ticket=ticket)
    assert correction.to_topic == topic
    assert ticket.events.filter(kind="corrected").exists()


# Below, a tiny stand-in for the text matcher makes its answer certain, so
# that what is tested is the policy around it.


class FakeMatcher:
    def __init__(self, topic=None, abstained=False, error=None):
        self.topic, self.abstained, self.error, self.calls = topic, abstained, error, 0

    def match(self, subject, text, organisations=None, limit=5):
        from routing.matcher import Candidate, MatchResult, TopicDoc

        self.calls += 1
        if self.error:
            raise self.error
        if self.topic is None:
            return MatchResult([], True, "no topic")
        doc = TopicDoc(
            id=self.topic.pk,
            slug=self.topic.slug,
            organisation=self.topic.organisation.slug,
            title=self.topic.title,
            urgent=self.topic.urgent,
        )
        return MatchResult([Candidate(doc, 3.2, 0.9)], self.abstained, "fake")


@pytest.fixture
def fake_matcher(monkeypatch):
    def install(**kwargs):
        fake = FakeMatcher(**kwargs)
        monkeypatch.setattr("routing.matcher.get_matcher", lambda: fake)
        return fake

    return install


def test_a_matched_topic_is_recorded_with_score_and_confidence(cd99, fake_matcher):
    topic = Topic.objects.get(organisation=cd99, slug="rsa-versement")
    fake_matcher(topic=topic)
    ticket = send("peu importe")
    data = routed(ticket)
    assert ticket.topic == topic
    assert data["decided_by"] == "matcher"
    assert data["match"] == {"topic": "cd99/rsa-versement", "score": 3.2, "confidence": 0.9}
    assert data["abstained"] is False
    assert data["topic"] == "rsa-versement"


def test_an_abstention_goes_to_triage_not_understood(cd99, fake_matcher):
    fake_matcher(topic=Topic.objects.get(organisation=cd99, slug="rsa-versement"), abstained=True)
    ticket = send("peu importe")
    assert ticket.topic is None and ticket.not_understood
    assert ticket.service == cd99.triage_service()
    assert routed(ticket)["decided_by"] == "triage"


def test_a_failing_text_analysis_sends_to_triage_never_loses_the_request(cd99, fake_matcher):
    fake_matcher(error=RuntimeError("index broken"))
    ticket = send("Bonjour, mon RSA")
    assert ticket.not_understood and ticket.service == cd99.triage_service()
    assert "RuntimeError" in routed(ticket)["reason"]
    assert ticket.messages.count() == 1


def test_a_rule_after_the_analysis_overrides_it_and_sets_priority_tags_assignee(cd99, fake_matcher):
    from routing.models import Rule

    fake_matcher(topic=Topic.objects.get(organisation=cd99, slug="rsa-versement"))
    routes = Service.objects.get(organisation=cd99, slug="routes")
    user = get_user_model().objects.create_user("voirie", email="voirie@cd99.example")
    AgentProfile.objects.create(user=user, organisation=cd99).services.add(routes)
    rule = Rule.objects.create(
        organisation=cd99,
        name="nids de poule",
        stage="after",
        body_regex=r"nids? de poule",
        set_service=routes,
        set_priority="high",
        add_tags=["voirie"],
        set_assignee=user,
    )
    ticket = send("Un nid de poule devant chez moi")
    ticket.refresh_from_db()
    assert ticket.service == routes
    assert ticket.priority == "high"
    assert ticket.tags == ["voirie"]
    assert ticket.assignee == user
    assert ticket.events.get(kind="assigned").data["assignee"] == user.pk
    data = routed(ticket)
    assert data["decided_by"] == "rule"
    assert data["rules"] == [{"id": rule.pk, "name": "nids de poule"}]
    assert data["tags"] == ["voirie"]


def test_an_urgent_topic_is_urgent_even_without_alarming_words(cd99, fake_matcher):
    topic = Topic.objects.get(organisation=cd99, slug="rsa-versement")
    topic.urgent = True
    topic.save()
    fake_matcher(topic=topic)
    ticket = send("Bonjour, une question")
    assert ticket.priority == Ticket.Priority.URGENT
    assert routed(ticket)["urgency"] == ["urgent topic: rsa-versement"]


def test_absent_on_call_agents_are_skipped_and_the_organisations_on_call_step_in(cd99, fake_matcher):
    from datetime import timedelta

    from django.utils import timezone

    from contacts.models import Absence

    fake_matcher()  # abstains: triage
    triage = cd99.triage_service()
    away = get_user_model().objects.create_user("absente", email="absente@cd99.example")
    profile = AgentProfile.objects.create(user=away, organisation=cd99, on_call=True)
    profile.services.add(triage)
    now = timezone.now()
    Absence.objects.create(agent=profile, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    Absence.objects.create(agent=profile, starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=8))
    elsewhere = get_user_model().objects.create_user("garde", email="garde@cd99.example")
    AgentProfile.objects.create(user=elsewhere, organisation=cd99, on_call=True)

    ticket = send("Mon mari me frappe, j'ai peur pour ma vie")

    assert ticket.priority == Ticket.Priority.URGENT
    assert "urgence:violence" in ticket.tags
    assert ticket.events.get(kind="urgent_notified").data["agents"] == ["garde"]
    mail = Outbox.objects.get(recipient="garde@cd99.example")
    assert mail.idempotency_key == f"urgent:{ticket.pk}:{elsewhere.pk}"
    assert ticket.reference in mail.payload["subject"]
    assert not Outbox.objects.filter(recipient="absente@cd99.example").exists()


def test_emergency_numbers_fit_the_categories_then_the_general_ones():
    from routing.urgency_numbers import EMERGENCY_NUMBERS, NUMBERS, relevant_numbers

    assert set(NUMBERS) == {"3919", "119", "115", "17", "15", "112", "114", "3114"}
    assert {number for numbers in EMERGENCY_NUMBERS.values() for number, _ in numbers} <= set(NUMBERS)
    numbers = [number for number, _ in relevant_numbers(["violence", "child"])]
    assert numbers == ["3919", "17", "119", "112", "114"]
    assert [n for n, _ in relevant_numbers(["suicide: « en finir »"])][:1] == ["3114"]
    assert [n for n, _ in relevant_numbers([])] == ["112", "114"]
