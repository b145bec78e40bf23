"""Where a ticket goes: rules, then the knowledge-base matcher, then rules
again; the competent service by territory; urgency; orientation to another
administration; SLA due time; assignment. One ``routed`` event records why."""

import logging
from dataclasses import dataclass

from django.db import DatabaseError

from contacts.models import Ticket, TicketEvent
from contacts.services.events import record_event
from routing.notify import notify_on_call, orient
from routing.territory import choose_service, postcode_in_text

logger = logging.getLogger(__name__)

MAX_TEXT = 100_000  # what the router reads of a message (a 1 MB message is routed on its start)


def first_text(ticket):
    if getattr(ticket, "first_text", None) is not None:
        return ticket.first_text[:MAX_TEXT]  # set by ingest: the message it just stored
    message = ticket.messages.filter(direction="in", is_internal=False).order_by("created_at", "pk").first()
    return (message.body_text if message else "")[:MAX_TEXT]


ROUTED_FIELDS = [
    "topic",
    "service",
    "oriented_to",
    "priority",
    "tags",
    "not_understood",
    "due_at",
    "resolution_due_at",
]


@dataclass
class Decision:
    """What ``decide`` found, for ``finish`` to record and act on."""

    record: dict
    topic: object = None
    service: object = None  # the competent service, maybe of another organisation
    assignee: object = None
    urgent: bool = False
    oriented: bool = False


def route(ticket):
    """Route a stored ticket: sets topic, service, priority, tags,
    not_understood, due_at and maybe oriented_to and assignee, and records
    one ``routed`` event saying what decided (``decided_by``: "rule",
    "matcher", "citizen" when they chose the topic on the contact form, or
    "triage")."""
    decision = decide(ticket)
    ticket.save(update_fields=ROUTED_FIELDS)
    return finish(ticket, decision)


def decide(ticket):
    """Decide where a ticket goes and set its routed fields (``ROUTED_FIELDS``)
    without writing anything: ``ingest`` calls it before inserting a new
    ticket (one INSERT instead of an INSERT and an UPDATE), then ``finish``.

    What it reads of the knowledge base and of the routing settings comes from
    the per-revision cache (``routing.cache``)."""
    from routing import cache
    from routing.matcher import get_matcher
    from routing.rules import RuleContext, evaluate
    from routing.sla import due_at_for, resolution_due_at_for
    from routing.urgency import detect_urgency

    organisation = ticket.organisation
    text = first_text(ticket)
    rules = cache.rules(organisation)
    postcode = ticket.contact.postcode or postcode_in_text(f"{ticket.subject}\n{text}")
    context = RuleContext(
        channel=ticket.channel,
        sender_email=ticket.contact.email,
        sender_phone=ticket.contact.phone,
        subject=ticket.subject,
        text=text,
        postcode=postcode,
        when=ticket.created_at,
    )
    record = {"postcode": postcode or None, "rules": [], "decided_by": "triage"}
    topic = service = assignee = None
    priority = None
    tags = list(ticket.tags)
    stopped = False
    tz = organisation.tzinfo

    def apply(outcome):
        nonlocal topic, service, priority, assignee, stopped
        record["rules"].extend(outcome.matched)
        topic = outcome.topic or topic
        service = outcome.service or service
        priority = outcome.priority or priority
        assignee = outcome.assignee or assignee
        tags.extend(tag for tag in outcome.tags if tag not in tags)
        stopped = stopped or outcome.stop

    apply(evaluate(rules["before"], context, tz))
    if topic is not None or service is not None:
        record["decided_by"] = "rule"

    matched = candidates = None
    hint = getattr(ticket, "topic_hint", None)
    if topic is None and service is None and not stopped and hint:
        topic, candidates = cache.topic(hint)
        matched = topic
        if topic is not None:
            record["decided_by"] = "citizen"

    if topic is None and service is None and not stopped:
        result = match_safely(get_matcher, ticket.subject, text)
        record["abstained"] = result.abstained
        record["reason"] = result.reason
        if result.candidates:
            best = result.candidates[0]
            record["match"] = {
                "topic": f"{best.doc.organisation}/{best.doc.slug}",
                "score": round(best.score, 4),
                "confidence": round(best.confidence, 4),
            }
        if not result.abstained and result.candidates:
            topic, candidates = cache.topic(result.candidates[0].doc.id)
            matched = topic
            record["decided_by"] = "matcher" if topic is not None else "triage"

    if not stopped:
        decided = (topic, service)
        apply(evaluate(rules["after"], context, tz))
        if (topic, service) != decided:
            record["decided_by"] = "rule"

    if service is None and topic is not None:
        if topic is not matched:
            candidates = cache.topic(topic.pk)[1]
        service, record["territory"] = choose_service(candidates, postcode)
    ticket.not_understood = topic is None and service is None
    triage = cache.triage_service(organisation)
    if service is None:
        service = triage
        record["territory"] = "triage"

    urgency = detect_urgency_safely(detect_urgency, f"{ticket.subject}\n{text}")
    urgent = urgency.urgent or bool(topic and topic.urgent)
    if urgent:
        record["urgency"] = list(urgency.reasons) + ([f"urgent topic: {topic.slug}"] if topic and topic.urgent else [])
        tags.extend(f"urgence:{category}" for category in urgency.categories if f"urgence:{category}" not in tags)
        priority = Ticket.Priority.URGENT
    ticket.priority = priority or (topic.priority if topic else Ticket.Priority.NORMAL)

    oriented = service is not None and service.organisation_id != organisation.pk
    ticket.topic = topic
    ticket.tags = tags
    if oriented:
        ticket.oriented_to = service
        ticket.service = triage
    else:
        ticket.service = service
    ticket.due_at = due_at_for(ticket)
    ticket.resolution_due_at = resolution_due_at_for(ticket)
    if assignee is not None:
        # Rules are cached: the user is read again, as they are now.
        assignee = type(assignee).objects.filter(pk=assignee.pk).first()
    return Decision(record, topic, service, assignee, urgent, oriented)


def finish(ticket, decision):
    """Record the ``routed`` event of a decided (and stored) ticket, then
    orient, assign and notify as decided."""
    topic, service, oriented = decision.topic, decision.service, decision.oriented
    record_event(
        ticket,
        TicketEvent.Kind.ROUTED,
        topic=topic.slug if topic else None,
        service=str(service) if service else None,
        priority=ticket.priority,
        not_understood=ticket.not_understood,
        oriented_to=str(service) if oriented else None,
        tags=ticket.tags,
        **decision.record,
    )

    if oriented:
        orient(ticket, service)
        ticket.refresh_from_db(fields=["status", "first_response_at"])
    if decision.assignee is not None:
        from contacts.services.tickets import assign

        assign(ticket, None, decision.assignee)
    elif not oriented and ticket.service is not None:
        from routing.assignment import assign_agent

        assign_agent(ticket)
    if decision.urgent and ticket.service is not None:
        notify_on_call(ticket)
    return ticket


class _Abstention:
    candidates = ()
    abstained = True

    def __init__(self, reason):
        self.reason = reason


class _NoUrgency:
    urgent = False
    reasons = ()
    categories = ()


def match_safely(get_matcher, subject, text):
    """The matcher's answer; should it fail (a knowledge base it cannot
    index...), an abstention: the request goes to triage, it is never lost."""
    try:
        return get_matcher().match(subject, text)
    except DatabaseError:
        raise  # the transaction is broken: ingest must roll back
    except Exception as exc:
        logger.exception("matcher failed; the request goes to triage")
        return _Abstention(f"matcher error: {type(exc).__name__}")


def detect_urgency_safely(detect_urgency, text):
    try:
        return detect_urgency(text)
    except Exception:
        logger.exception("urgency detection failed")
        return _NoUrgency()
