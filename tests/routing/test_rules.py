from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from routing.models import Rule
from routing.rules import RuleContext, evaluate, rules_for


def context(**values):
    base = {
        "channel": "email",
        "sender_email": "a@ville.example",
        "subject": "",
        "text": "",
        "postcode": "",
        "when": datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("Europe/Paris")),
    }
    base.update(values)
    return RuleContext(**base)


@pytest.mark.django_db
def test_invalid_regex_is_refused_with_a_clear_error(organisation):
    with pytest.raises(ValidationError, match="Expression régulière invalide"):
        Rule.objects.create(organisation=organisation, name="x", subject_regex="([a-z")
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

    outcome = evaluate(rules_for(organisation, "before"), context(text="Mon RSA"))

    assert [m["name"] for m in outcome.matched] == ["domaine", "rsa"]
    assert outcome.service == insertion and outcome.priority == "high" and outcome.stop
    assert outcome.tags == ["mairie"]


@pytest.mark.django_db
def test_time_and_postcode_conditions(organisation):
    Rule.objects.create(organisation=organisation, name="nuit", hour_from=18, add_tags=["soir"])
    Rule.objects.create(organisation=organisation, name="sud", postcode_prefixes=["993"], add_tags=["sud"])
    rules = rules_for(organisation, "before")
    assert evaluate(rules, context(postcode="99300")).tags == ["sud"]
    late = context(when=datetime(2026, 6, 1, 19, 0, tzinfo=ZoneInfo("Europe/Paris")))
    assert evaluate(rules, late).tags == ["soir"]


@pytest.mark.django_db
def test_a_megabyte_of_text_is_handled(organisation):
    Rule.objects.create(organisation=organisation, name="x", body_regex=r"(a+)+b")
    assert evaluate(rules_for(organisation, "before"), context(text="a" * 30)).matched == []
