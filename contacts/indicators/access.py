"""Who may read the indicators: managers, administrators and supervisors of
an organisation (their organisation only), and superusers."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from rest_framework.permissions import BasePermission

from contacts.inbox.access import with_csp
from contacts.models import AgentProfile

MANAGING_ROLES = {AgentProfile.Role.MANAGER, AgentProfile.Role.ADMINISTRATOR, AgentProfile.Role.SUPERVISOR}


def profile_of(user):
    return AgentProfile.objects.select_related("organisation").filter(user=user).first()


def may_read_indicators(user):
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    profile = profile_of(user)
    return profile is not None and profile.role in MANAGING_ROLES


def manager_required(view):
    """Logged-in managers; others get a 403 page that says why."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        request.agent = profile_of(request.user)
        if not may_read_indicators(request.user):
            return with_csp(render(request, "indicators/forbidden.html", status=403))
        return with_csp(view(request, *args, **kwargs))

    return wrapped


class IsManager(BasePermission):
    def has_permission(self, request, view):
        return may_read_indicators(request.user)
