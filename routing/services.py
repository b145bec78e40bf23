"""Where a ticket goes: rules, then the knowledge-base matcher, then rules
again; the competent service by territory; urgency; orientation to another
administration; SLA due time; assignment. One ``routed`` event records why."""

import logging

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from contacts.models import AgentProfile, Ticket, TicketEvent
from contacts.services.events import record_event
from contacts.services.outbox import enqueue
from kb.models import Topic
from routing.territory import choose_service, postcode_in_text

logger = logging.getLogger(__name__)

MAX_TEXT = 100_000  # what the router reads of a message (a 1 MB message is routed on its start)


def first_text(ticket):
    if getattr(ticket, "first_text", None) is not None:
        return ticket.first_text[:MAX_TEXT]  # set by ingest: the message it just stored
    message = ticket.messages.filter(direction="in", is_internal=False).order_by("created_at", "pk").first()
    return (message.body_text if message else "")[:MAX_TEXT]


def route(ticket):
    from routing.assignment import assign_agent
    from routing.matcher import get_matcher
    from routing.rules import RuleContext, evaluate, rules_for
    from routing.sla import due_at_for
    from routing.urgency import detect_urgency

    organisation = ticket.organisation
    text = first_text(ticket)
    rules = rules_for(organisation)
    postcode = ticket.contact.postcode or postcode_in_text(f"{ticket.subject}\n{text}")
    context = RuleContext(
        channel=ticket.channel,
        sender_email=ticket.contact.email,
        subject=ticket.subject,
        text=text,
        postcode=postcode,
        when=ticket.created_at,
    )
    record = {"postcode": postcode or None, "rules": []}
    topic = service = assignee = None
    priority = None
    tags = list(ticket.tags)
    stopped = False

    def apply(outcome):
        nonlocal topic, service, priority, assignee, stopped
        record["rules"].extend(outcome.matched)
        topic = outcome.topic or topic
        service = outcome.service or service
        priority = outcome.priority or priority
        assignee = outcome.assignee or assignee
        tags.extend(tag for tag in outcome.tags if tag not in tags)
        stopped = stopped or outcome.stop

    apply(evaluate(rules["before"], context))

    if topic is None and service is None and not stopped:
        result = get_matcher().match(ticket.subject, text)
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
            topic = Topic.objects.select_related("organisation").filter(pk=result.candidates[0].doc.id).first()

    if not stopped:
        apply(evaluate(rules["after"], context))

    if service is None and topic is not None:
        service, record["territory"] = choose_service(topic.candidate_services(), postcode)
    ticket.not_understood = topic is None and service is None
    if service is None:
        service = organisation.triage_service()
        record["territory"] = "triage"

    urgency = detect_urgency(f"{ticket.subject}\n{text}")
    urgent = urgency.urgent or bool(topic and topic.urgent)
    if urgent:
        record["urgency"] = urgency.reasons or ["urgent topic"]
        tags.extend(f"urgence:{category}" for category in urgency.categories if f"urgence:{category}" not in tags)
        priority = Ticket.Priority.URGENT
    ticket.priority = priority or (topic.priority if topic else Ticket.Priority.NORMAL)

    oriented = service is not None and service.organisation_id != organisation.pk
    ticket.topic = topic
    ticket.tags = tags
    if oriented:
        ticket.oriented_to = service
        ticket.service = organisation.triage_service()
    else:
        ticket.service = service
    ticket.due_at = due_at_for(ticket)
    ticket.save(update_fields=["topic", "service", "oriented_to", "priority", "tags", "not_understood", "due_at"])
    record_event(
        ticket,
        TicketEvent.Kind.ROUTED,
        topic=topic.slug if topic else None,
        service=str(service) if service else None,
        priority=ticket.priority,
        not_understood=ticket.not_understood,
        **record,
    )

    if oriented:
        orient(ticket, service)
    if assignee is not None:
        from contacts.services.tickets import assign

        assign(ticket, None, assignee)
    elif not oriented and ticket.service is not None:
        assign_agent(ticket)
    if urgent and ticket.service is not None:
        notify_on_call(ticket)
    return ticket


def orient(ticket, service):
    """Tell the citizen which administration is competent, with its contact
    points (French administrative law: the request is passed on and the
    citizen told)."""
    from contacts.services.tickets import TicketActionError, reply

    record_event(ticket, TicketEvent.Kind.ORIENTED, service=str(service), organisation=service.organisation.name)
    with translation.override(settings.LANGUAGE_CODE):
        text = render_to_string(
            "routing/oriented.txt",
            {"ticket": ticket, "service": service, "contact_points": list(service.contact_points.all())},
        ).strip()
    try:
        reply(ticket, None, text)
    except TicketActionError as exc:
        logger.info("orientation of %s not sent: %s", ticket.reference, exc)


def notify_on_call(ticket):
    """Email every on-call agent of the ticket's service at once."""
    agents = AgentProfile.objects.filter(services=ticket.service, on_call=True).select_related("user")
    notified = []
    with translation.override(settings.LANGUAGE_CODE):
        for agent in agents:
            if not agent.user.email:
                continue
            enqueue(
                "email",
                agent.user.email,
                {
                    "subject": translation.gettext("Urgent request %(reference)s") % {"reference": ticket.reference},
                    "text": render_to_string("routing/urgent_agent.txt", {"ticket": ticket}).strip(),
                },
                idempotency_key=f"urgent:{ticket.pk}:{agent.user.pk}",
                ticket=ticket,
            )
            notified.append(agent.user.username)
    if notified:
        record_event(ticket, TicketEvent.Kind.URGENT_NOTIFIED, agents=notified)
