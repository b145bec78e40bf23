"""What routing tells people: the citizen whose request another
administration handles, the on-call agents of an urgent request, the agents
of a request soon due, the supervisors of an overdue one. Everything goes
through the outbox."""

import logging

from django.conf import settings
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_noop

from contacts.channels import Channel
from contacts.models import AgentProfile, TicketEvent
from contacts.services.events import record_event
from contacts.services.outbox import enqueue

logger = logging.getLogger(__name__)

SUPERVISOR_ROLES = [AgentProfile.Role.SUPERVISOR, AgentProfile.Role.MANAGER]


def orient(ticket, service):
    """Tell the citizen which administration is competent, with its contact
    points (the request is passed on and the citizen told), through their
    channel: email, else SMS when they consented. The message is stored in
    the ticket's thread like any answer. Returns the channel used, or None."""
    from contacts.services.tickets import TicketActionError, reply

    with translation.override(settings.LANGUAGE_CODE):
        text = render_to_string(
            "routing/oriented.txt",
            {"ticket": ticket, "service": service, "contact_points": list(service.contact_points.all())},
        ).strip()
    told = None
    try:
        message = reply(ticket, None, text)
        told = message.channel
    except TicketActionError as exc:
        logger.info("orientation of %s not sent: %s", ticket.reference, exc)
    record_event(
        ticket,
        TicketEvent.Kind.ORIENTED,
        service=str(service),
        organisation=service.organisation.name,
        told=told,
    )
    return told


def _present(profiles, now=None):
    from routing.assignment import away

    return profiles.exclude(away(now))


def on_call_agents(ticket):
    """The on-call agents of the ticket's service who are not away; when the
    service has none, those of the organisation."""
    profiles = _present(AgentProfile.objects.filter(on_call=True).select_related("user"))
    agents = list(profiles.filter(services=ticket.service).distinct().order_by("user_id"))
    if not agents:
        agents = list(profiles.filter(organisation_id=ticket.organisation_id).order_by("user_id"))
    return agents


def supervisors(ticket):
    """The supervisors and managers of the ticket's service; when it has
    none, those of the organisation without a service of their own."""
    profiles = AgentProfile.objects.filter(
        organisation_id=ticket.organisation_id, role__in=SUPERVISOR_ROLES
    ).select_related("user")
    found = list(profiles.filter(services=ticket.service).distinct().order_by("user_id")) if ticket.service_id else []
    if not found:
        found = list(profiles.filter(Q(services__isnull=True)).distinct().order_by("user_id"))
    return found


def warned_agents(ticket):
    """Who is told that a deadline is near: the ticket's assignee; when it
    has none (shared queue), the service's agents who are not away."""
    if ticket.assignee_id is not None:
        profile = AgentProfile.objects.filter(user_id=ticket.assignee_id).select_related("user").first()
        if profile is not None:
            return [profile]
    if ticket.service_id is None:
        return []
    return list(
        _present(AgentProfile.objects.filter(services=ticket.service, user__is_active=True))
        .select_related("user")
        .distinct()
        .order_by("user_id")
    )


def _email_agents(ticket, agents, key, subject, template, **context):
    """One outbox email to each agent with an address; their usernames."""
    sent = []
    with translation.override(settings.LANGUAGE_CODE):
        text = render_to_string(template, {"ticket": ticket, "service": ticket.service, **context}).strip()
        for agent in agents:
            if not agent.user.email:
                continue
            enqueue(
                Channel.EMAIL,
                agent.user.email,
                {"subject": translation.gettext(subject) % {"reference": ticket.reference}, "text": text},
                idempotency_key=f"{key}:{ticket.pk}:{agent.user.pk}",
                ticket=ticket,
            )
            sent.append(agent.user.username)
    return sent


def notify_on_call(ticket):
    """Email the on-call agents at once; record who was told."""
    notified = _email_agents(
        ticket, on_call_agents(ticket), "urgent", "Urgent request %(reference)s", "routing/urgent_agent.txt"
    )
    if notified:
        record_event(ticket, TicketEvent.Kind.URGENT_NOTIFIED, agents=notified)
    else:
        logger.warning("urgent ticket %s: nobody on call to notify", ticket.reference)
    return notified


WARNING_SUBJECTS = {
    "answer": gettext_noop("Answer due soon: request %(reference)s"),
    "resolution": gettext_noop("Resolution due soon: request %(reference)s"),
}
ESCALATION_SUBJECTS = {
    "answer": gettext_noop("Overdue request %(reference)s"),
    "resolution": gettext_noop("Request %(reference)s not resolved in time"),
}
KEYS = {"answer": ("sla-warning", "escalated"), "resolution": ("resolution-warning", "resolution-escalated")}


def _local(ticket, moment):
    with timezone.override(ticket.organisation.tzinfo):
        return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def notify_warning(ticket, target, due):
    """Email the agents of a ticket whose first answer (``target`` "answer")
    or resolution ("resolution") is due soon; their usernames."""
    with translation.override(settings.LANGUAGE_CODE):
        due_text = _local(ticket, due)
    return _email_agents(
        ticket,
        warned_agents(ticket),
        KEYS[target][0],
        WARNING_SUBJECTS[target],
        "routing/sla_warning.txt",
        target=target,
        due=due_text,
    )


def notify_supervisors(ticket, target="answer"):
    """Email the supervisors of an overdue ticket; their usernames."""
    return _email_agents(
        ticket,
        supervisors(ticket),
        KEYS[target][1],
        ESCALATION_SUBJECTS[target],
        "routing/escalated.txt",
        target=target,
    )
