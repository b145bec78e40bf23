"""Evaluating an organisation's routing rules on a message."""

import re
from dataclasses import dataclass, field
from datetime import datetime

from routing.models import Rule

MAX_REGEX_TEXT = 100_000  # a pathological pattern on a huge text stays bounded


@dataclass
class RuleContext:
    channel: str
    sender_email: str
    subject: str
    text: str
    postcode: str
    when: datetime


@dataclass
class RuleOutcome:
    matched: list = field(default_factory=list)
    topic: object = None
    service: object = None
    priority: str = ""
    tags: list = field(default_factory=list)
    assignee: object = None
    stop: bool = False


def rules_for(organisation, stage=None):
    """The organisation's active rules in order: of one stage, or all of them
    as {stage: [rules]} in one query."""
    rules = Rule.objects.filter(organisation=organisation, is_active=True).select_related(
        "set_topic", "set_service__organisation", "set_assignee"
    )
    if stage is not None:
        return list(rules.filter(stage=stage))
    by_stage = {Rule.Stage.BEFORE: [], Rule.Stage.AFTER: []}
    for rule in rules:
        by_stage[rule.stage].append(rule)
    return by_stage


def matches(rule, context, tz):
    if rule.channels and context.channel not in rule.channels:
        return False
    if rule.sender_pattern:
        pattern = rule.sender_pattern.lower()
        sender = (context.sender_email or "").lower()
        if pattern.startswith("@") and not sender.endswith(pattern):
            return False
        if not pattern.startswith("@") and sender != pattern:
            return False
    if rule.subject_regex and not re.search(rule.subject_regex, context.subject[:MAX_REGEX_TEXT], re.IGNORECASE):
        return False
    if rule.body_regex and not re.search(rule.body_regex, context.text[:MAX_REGEX_TEXT], re.IGNORECASE):
        return False
    if rule.postcode_prefixes and not any(context.postcode.startswith(p) for p in rule.postcode_prefixes if p):
        return False
    local = context.when.astimezone(tz)
    if rule.weekdays and local.weekday() not in rule.weekdays:
        return False
    if rule.hour_from is not None and local.hour < rule.hour_from:
        return False
    return not (rule.hour_to is not None and local.hour >= rule.hour_to)


def evaluate(rules, context, tz=None):
    """Apply matching rules in order; a rule with ``stop`` ends the evaluation."""
    outcome = RuleOutcome()
    for rule in rules:
        if not matches(rule, context, tz or rule.organisation.tzinfo):
            continue
        outcome.matched.append({"id": rule.pk, "name": rule.name})
        outcome.topic = rule.set_topic or outcome.topic
        outcome.service = rule.set_service or outcome.service
        outcome.priority = rule.set_priority or outcome.priority
        outcome.assignee = rule.set_assignee or outcome.assignee
        outcome.tags.extend(tag for tag in rule.add_tags if tag not in outcome.tags)
        if rule.stop:
            outcome.stop = True
            break
    return outcome
