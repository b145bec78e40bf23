"""Evaluating an organisation's routing rules on a message."""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from routing.models import Rule

logger = logging.getLogger(__name__)

MAX_REGEX_TEXT = 100_000  # a pathological pattern on a huge text stays bounded


@dataclass
class RuleContext:
    channel: str
    sender_email: str
    subject: str
    text: str
    postcode: str
    when: datetime
    sender_phone: str = ""


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
    if rule.sender_pattern and not sender_matches(rule.sender_pattern, context):
        return False
    if rule.subject_regex and not _search(rule.subject_regex, context.subject):
        return False
    if rule.body_regex and not _search(rule.body_regex, context.text):
        return False
    if rule.postcode_prefixes and not any(context.postcode.startswith(p) for p in rule.postcode_prefixes if p):
        return False
    local = context.when.astimezone(tz)
    if rule.weekdays and local.weekday() not in rule.weekdays:
        return False
    return rule.matches_hour(local.hour)


def sender_matches(pattern, context):
    """An address, "@domain" (also its subdomains) or a phone number."""
    pattern = pattern.strip().lower()
    email = (context.sender_email or "").lower()
    if pattern.startswith("@"):
        domain = email.rpartition("@")[2]
        return bool(email) and (domain == pattern[1:] or domain.endswith("." + pattern[1:]))
    if "@" in pattern:
        return email == pattern
    digits = re.sub(r"[^\d+]", "", pattern)
    return bool(digits) and bool(context.sender_phone) and context.sender_phone.endswith(digits.lstrip("0"))


def _search(pattern, text):
    try:
        return re.search(pattern, (text or "")[:MAX_REGEX_TEXT], re.IGNORECASE) is not None
    except re.error:  # stored before validation existed: the rule is skipped, not the ticket
        logger.warning("routing rule with an invalid regular expression %r skipped", pattern)
        return False


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
