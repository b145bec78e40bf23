from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from contacts.models import AgentProfile
from routing.models import Rule, regex_error
from routing.rules import MAX_REGEX_TEXT, RuleContext, evaluate, rules_for

PARIS = ZoneInfo("Europe/Paris")


def context(**values):
    base = {
        "channel": "email",
        "sender_email": "a@ville.example",
        "subject": "",
        "text": "",
        "postcode": "",
        "when": datetime(2026, 6, 1, 10, 0, tzinfo=PARIS),  # a Monday
    }
    base.update(values)
    return RuleContext(**base)


def names(outcome):
    return [m["name"] for m in outcome.matched]


@pytest.mark.django_db
def test_invalid_regex_is_refused_with_a_clear_error(organisation):
    with pytest.raises(ValidationError, match="Expression régulière invalide") as caught:
        Rule.objects.create(organisation=organisation, name="x", subject_regex="([a-z")
    assert "subject_regex" in caught.value.message_dict
    assert "([a-z" in caught.value.message_dict["subject_regex"][0]
    assert Rule.objects.count() == 0


@pytest.mark.parametrize("pattern", [r"(a+)+b", r"(\w+\s?)+$", r"(?:x|(y*))*z", r"((ab)*c)+"])
def test_nested_repetition_is_refused_it_could_run_for_hours(pattern):
    assert pattern in regex_error(pattern)


@pytest.mark.parametrize("pattern", [r"\brsa\b", r"(?:ab)+", r"\d{5}", r"(a|b)*c", r"(\d{2} ?){5}", r"(?:a++)+"])
def test_ordinary_patterns_are_accepted(pattern):
    assert regex_error(pattern) == ""


@pytest.mark.django_db
def test_a_rule_with_a_dangerous_regex_is_not_saved(organisation):
    with pytest.raises(ValidationError) as caught:
        Rule.objects.create(organisation=organisation, name="x", body_regex=r"(a+)+b")
    assert "body_regex" in caught.value.message_dict
    assert Rule.objects.count() == 0


@pytest.mark.django_db
def test_conditions_and_order_and_stop(organisation):
    insertion = organisation.services.get(slug="insertion")
    Rule.objects.create(
        organisation=organisation, name="domaine", position=1, sender_pattern="@ville.example", add_tags=["mairie"]
    )
    Rule.objects.create(
        organisation=organisation,
        name="rsa",
        position=2,
        body_regex=r"\brsa\b",
        set_service=insertion,
        set_priority="high",
        stop=True,
    )
    Rule.objects.create(organisation=organisation, name="never", position=3, add_tags=["jamais"])
    Rule.objects.create(organisation=organisation, name="sms only", position=0, channels=["sms"], add_tags=["sms"])
    Rule.objects.create(organisation=organisation, name="after", stage="after", add_tags=["après"])
    Rule.objects.create(organisation=organisation, name="off", is_active=False, add_tags=["off"])

    outcome = evaluate(rules_for(organisation, "before"), context(text="Mon RSA"))

    assert names(outcome) == ["domaine", "rsa"]
    assert outcome.service == insertion and outcome.priority == "high" and outcome.stop
    assert outcome.tags == ["mairie"]
    assert outcome.matched[0]["id"] == Rule.objects.get(name="domaine").pk
    assert names(evaluate(rules_for(organisation)["after"], context())) == ["after"]


@pytest.mark.django_db
def test_time_and_postcode_conditions(organisation):
    Rule.objects.create(organisation=organisation, name="soir", hour_from=18, add_tags=["soir"])
    Rule.objects.create(organisation=organisation, name="sud", postcode_prefixes=["993"], add_tags=["sud"])
    rules = rules_for(organisation, "before")
    assert evaluate(rules, context(postcode="99300")).tags == ["sud"]
    late = context(when=datetime(2026, 6, 1, 19, 0, tzinfo=PARIS))
    assert evaluate(rules, late).tags == ["soir"]


@pytest.mark.django_db
def test_an_hour_range_can_span_the_night(organisation):
    Rule.objects.create(organisation=organisation, name="nuit", hour_from=18, hour_to=8)
    rules = rules_for(organisation, "before")
    for hour, expected in [(23, True), (0, True), (7, True), (8, False), (12, False), (18, True)]:
        when = datetime(2026, 6, 1, hour, 30, tzinfo=PARIS)
        assert bool(evaluate(rules, context(when=when)).matched) is expected, hour


@pytest.mark.django_db
def test_weekday_and_hour_are_read_in_the_organisations_time_zone(organisation):
    Rule.objects.create(organisation=organisation, name="lundi matin", weekdays=[0], hour_to=2)
    rules = rules_for(organisation, "before")
    # Sunday 23:30 UTC is Monday 01:30 in Paris.
    assert names(evaluate(rules, context(when=datetime(2026, 5, 31, 23, 30, tzinfo=ZoneInfo("UTC"))))) == [
        "lundi matin"
    ]
    assert names(evaluate(rules, context(when=datetime(2026, 5, 31, 21, 30, tzinfo=ZoneInfo("UTC"))))) == []


@pytest.mark.django_db
def test_sender_by_address_domain_subdomain_or_phone(organisation):
    Rule.objects.create(organisation=organisation, name="domaine", sender_pattern="@ville.example")
    Rule.objects.create(organisation=organisation, name="adresse", sender_pattern="Maire@Ville.example")
    Rule.objects.create(organisation=organisation, name="téléphone", sender_pattern="06 12 34 56 78")
    rules = rules_for(organisation, "before")
    assert names(evaluate(rules, context(sender_email="maire@ville.example"))) == ["domaine", "adresse"]
    assert names(evaluate(rules, context(sender_email="x@services.ville.example"))) == ["domaine"]
    assert names(evaluate(rules, context(sender_email="x@autreville.example"))) == []
    assert names(evaluate(rules, context(sender_email="", sender_phone="+33612345678"))) == ["téléphone"]


@pytest.mark.django_db
def test_malformed_conditions_are_refused_field_by_field(organisation):
    with pytest.raises(ValidationError) as caught:
        Rule.objects.create(
            organisation=organisation,
            name="x",
            channels=["fax"],
            weekdays=[7],
            postcode_prefixes=["99a"],
            add_tags=[""],
            hour_from=25,
        )
    assert set(caught.value.message_dict) == {"channels", "weekdays", "postcode_prefixes", "add_tags", "hour_from"}
    with pytest.raises(ValidationError) as caught:
        Rule.objects.create(organisation=organisation, name="x", hour_from=9, hour_to=9)
    assert "hour_to" in caught.value.message_dict


@pytest.mark.django_db
def test_only_an_agent_of_the_organisation_can_be_the_assignee(organisation):
    outsider = get_user_model().objects.create_user("outsider")
    with pytest.raises(ValidationError) as caught:
        Rule.objects.create(organisation=organisation, name="x", set_assignee=outsider)
    assert "set_assignee" in caught.value.message_dict
    AgentProfile.objects.create(user=outsider, organisation=organisation)
    assert Rule.objects.create(organisation=organisation, name="x", set_assignee=outsider).pk


@pytest.mark.django_db
def test_a_megabyte_of_text_is_read_on_its_start(organisation):
    Rule.objects.create(organisation=organisation, name="fin", body_regex=r"mot-de-la-fin")
    Rule.objects.create(organisation=organisation, name="début", body_regex=r"^bonjour\b")
    Rule.objects.create(organisation=organisation, name="partout", body_regex=r"(?:demande ){3}")
    text = "bonjour " + "demande " * 130_000 + "mot-de-la-fin"
    assert len(text) > 1_000_000 > MAX_REGEX_TEXT
    outcome = evaluate(rules_for(organisation, "before"), context(text=text))
    # The end of the text is past what rules read: only its start can match.
    assert names(outcome) == ["début", "partout"]


@pytest.mark.django_db
def test_a_stored_invalid_regex_skips_the_rule_not_the_ticket(organisation):
    rule = Rule.objects.create(organisation=organisation, name="ok")
    Rule.objects.filter(pk=rule.pk).update(body_regex="([a-z")  # written around validation
    assert evaluate(rules_for(organisation, "before"), context(text="abc")).matched == []


@pytest.mark.django_db
def test_rules_are_edited_in_the_admin_in_french(organisation, admin_client):
    url = "/admin/routing/rule/add/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "Conditions" in page.content.decode()
    data = {
        "organisation": organisation.pk,
        "name": "Mairies du sud",
        "stage": "before",
        "position": 0,
        "is_active": "on",
        "channels": ["email", "form"],
        "sender_pattern": "@mairie.example",
        "subject_regex": "",
        "body_regex": "(a+)+",
        "postcode_prefixes": "993, 994",
        "weekdays": ["0", "4"],
        "add_tags": "mairie, sud",
        "set_priority": "",
    }
    refused = admin_client.post(url, data)
    assert refused.status_code == 200 and Rule.objects.count() == 0
    assert "(a+)+" in refused.content.decode()
    data["body_regex"] = r"\bvoirie\b"
    assert admin_client.post(url, data).status_code == 302
    rule = Rule.objects.get()
    assert rule.channels == ["email", "form"] and rule.weekdays == [0, 4]
    assert rule.postcode_prefixes == ["993", "994"] and rule.add_tags == ["mairie", "sud"]
    for path in ["/admin/routing/rule/", f"/admin/routing/rule/{rule.pk}/change/", "/admin/routing/slapolicy/add/"]:
        assert admin_client.get(path).status_code == 200, path
    for path in ["/admin/routing/businesshours/add/", "/admin/routing/servicerouting/add/"]:
        assert admin_client.get(path).status_code == 200, path
