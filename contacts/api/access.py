"""Who may use the agents' API, and the one way an API view gets a ticket.

Token (``Authorization: Token <key>``, keys made in the admin, valid
``API_TOKEN_MAX_AGE_DAYS`` after they were made) or session (with its CSRF
token on writes). Only users with an agent profile get in; an
administrator or manager using a session must have given their second factor
(as on the pages); a token, issued by an administrator, stands for it.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from contacts.models import AgentProfile, Ticket
from contacts.second_factor import needs_second_factor


class ExpiringTokenAuthentication(TokenAuthentication):
    """A token stops working ``API_TOKEN_MAX_AGE_DAYS`` after it was made: a
    key copied into a forgotten script or a leaked file does not open
    citizens' requests for ever. An administrator makes a new one."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token.created < timezone.now() - timedelta(days=settings.API_TOKEN_MAX_AGE_DAYS):
            raise AuthenticationFailed(_("This token has expired; ask an administrator for a new one."))
        return user, token


class IsAgent(BasePermission):
    """An authenticated user with an agent profile (kept as ``request.agent``)."""

    message = _("This account is not an agent's: the agents' API is closed to it.")

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        profile = AgentProfile.objects.select_related("organisation").filter(user=user).first()
        if profile is None:
            return False
        if isinstance(request.successful_authenticator, SessionAuthentication) and not _second_factor_given(request):
            self.message = _("Give your second factor on the agents' pages first, then try again.")
            return False
        request.agent = profile
        return True


def _second_factor_given(request):
    if not getattr(settings, "OTP_REQUIRED", False) or not needs_second_factor(request.user):
        return True
    verified = getattr(request._request.user, "is_verified", None)
    return bool(verified and verified())


class AgentAPIView(APIView):
    """The agents' API views: authenticated agents only, times in their
    organisation's time zone."""

    authentication_classes = [ExpiringTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAgent]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        timezone.activate(request.agent.organisation.tzinfo)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        timezone.deactivate()
        return response

    @property
    def agent(self):
        return self.request.agent

    def visible_tickets(self):
        return Ticket.objects.visible_to(self.request.user)

    def ticket(self, reference):
        """The ticket with this reference if the agent may see it, else 404
        (the same answer whether it exists elsewhere or not at all)."""
        if len(reference) > 40 or "\x00" in reference:  # no ticket has one; the database would refuse it
            raise NotFound(_("No such ticket."))
        ticket = (
            self.visible_tickets()
            .select_related("contact", "service__organisation", "topic__parent", "assignee", "organisation")
            .filter(reference=reference)
            .first()
        )
        if ticket is None:
            raise NotFound(_("No such ticket."))
        return ticket
