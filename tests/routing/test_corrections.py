import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from contacts.services import change_topic, transfer
from kb.models import Organisation, Topic
from routing.corrections import record_correction, routing_report
from routing.models import RoutingCorrection


@pytest.fixture
def agent(organisation):
    return get_user_model().objects.create_user("agent")


@pytest.fixture
def topics(organisation):
    return {
        "rsa": Topic.objects.create(
            organisation=organisation, slug="rsa", title="Mon RSA", keywords=["rsa", "versement"]
        ),
        "apa": Topic.objects.create(
            organisation=organisation, slug="apa", title="Allocation personnalisée d'autonomie", keywords=["apa"]
        ),
    }


@pytest.mark.django_db
def test_a_correction_records_before_after_and_the_text(make_ticket, agent, topics):
    ticket = make_ticket(subject="Question", text="Ma grand-mère a besoin d'aide à domicile")
    correction = record_correction(ticket, agent, topic=topics["apa"])
    assert correction.from_topic is None and correction.to_topic == topics["apa"]
    assert correction.from_service == ticket.service == correction.to_service
    assert correction.agent == agent
    assert "grand-mère" in correction.text and correction.text.startswith("Question")
    assert record_correction(ticket, agent) is None  # nothing changed, nothing recorded


@pytest.mark.django_db
def test_agents_changes_of_topic_and_transfers_are_corrections(organisation, make_ticket, agent, topics):
    ticket = make_ticket(text="Ma grand-mère a besoin d'aide à domicile")
    change_topic(ticket, agent, topics["apa"])
    insertion = organisation.services.get(slug="insertion")
    transfer(ticket, agent, insertion, "compétence")
    first, second = RoutingCorrection.objects.order_by("pk")
    assert (first.from_topic, first.to_topic) == (None, topics["apa"])
    assert (second.from_service, second.to_service) == (organisation.triage_service(), insertion)
    assert second.from_topic == second.to_topic == topics["apa"]


@pytest.mark.django_db
def test_the_report_names_the_most_corrected_topics_and_the_missing_words(make_ticket, agent, topics):
    texts = [
        "Ma grand-mère ne peut plus faire sa toilette seule, il lui faut une aide à domicile",
        "Mon père a besoin d'une aide à domicile pour sa toilette",
        "Aide à domicile pour ma mère âgée",
    ]
    for text in texts:
        record_correction(make_ticket(subject="", text=text), agent, topic=topics["apa"])
    record_correction(make_ticket(subject="", text="versement"), agent, topic=topics["rsa"])

    report = routing_report()

    assert [row["topic"] for row in report] == ["cd99/apa", "cd99/rsa"]
    assert report[0]["corrections"] == 3
    assert report[0]["from"] == [("-", 3)]
    words = report[0]["missing_words"]
    assert words[:2] == ["aid", "domicil"]  # in all three texts, not among the topic's words
    assert "toilet" in words
    assert "apa" not in words
    assert report[1]["missing_words"] == []  # "versement" is a keyword already


@pytest.mark.django_db
def test_routing_report_command_by_organisation(make_ticket, agent, topics, capsys):
    record_correction(make_ticket(text="aide à domicile"), agent, topic=topics["apa"])
    Organisation.objects.create(slug="autre", name="Autre", kind="commune")

    call_command("routing_report", "--organisation", "cd99")
    out = capsys.readouterr().out
    assert "cd99/apa: 1" in out
    assert json.loads(out.strip().splitlines()[-1])[0]["topic"] == "cd99/apa"

    call_command("routing_report", "--organisation", "autre")
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == []

    with pytest.raises(CommandError, match="inconnue"):
        call_command("routing_report", "--organisation", "inconnue")
