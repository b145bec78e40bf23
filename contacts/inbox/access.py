"""Who may use the inbox, and the one way a view gets a ticket."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from contacts.models import AgentProfile, Ticket

# Agent pages load nothing but their own static files (no inline script or
# style, no remote image in a citizen's HTML).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def with_csp(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


# Roles that may take a ticket away from a colleague.
SUPERVISING_ROLES = {AgentProfile.Role.SUPERVISOR, AgentProfile.Role.MANAGER, AgentProfile.Role.ADMINISTRATOR}


def agent_required(view):
    """Logged-in users with an agent profile; the profile is ``request.agent``."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        profile = AgentProfile.objects.select_related("organisation").filter(user=request.user).first()
        if profile is None:
            return with_csp(render(request, "inbox/not_an_agent.html", status=403))
        request.agent = profile
        # Times are shown in the organisation's time zone.
        with timezone.override(profile.organisation.tzinfo):
            return with_csp(view(request, *args, **kwargs))

    return wrapped


def visible_ticket(request, reference):
    """The ticket with this reference if the agent may see it, else 404
    (the same answer whether it exists elsewhere or not at all)."""
    tickets = Ticket.objects.visible_to(request.user).select_related(
        "contact", "service", "topic__parent", "assignee", "organisation"
    )
    ticket = tickets.filter(reference=reference).first()
    if ticket is None:
        raise Http404("no such ticket")
    return ticket


def may_reassign(profile, ticket, user):
    """An agent passes on unassigned tickets and their own; supervisors,
    managers and administrators any of their organisation's."""
    return ticket.assignee_id in (None, user.pk) or profile.role in SUPERVISING_ROLES
