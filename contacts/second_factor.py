"""Two-factor authentication (django-otp, TOTP) for the people who can see
most: administrators, managers and superusers. After their password, they
give a code from an authenticator app; the first time, they register one.

Required when ``OTP_REQUIRED`` is on (by default with ``HTTPS=1``, i.e. in
production); the embedded demo leaves it off.
"""

from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from contacts.models import AgentProfile

PROTECTED_PREFIXES = ("/admin/", "/agents/", "/indicateurs/")
OPEN_PATHS = ("/admin/login/", "/admin/logout/", "/agents/connexion/", "/agents/deconnexion/")
ROLES = (AgentProfile.Role.ADMINISTRATOR, AgentProfile.Role.MANAGER)


def needs_second_factor(user):
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return AgentProfile.objects.filter(user=user, role__in=ROLES).exists()


def websocket_allowed(scope):
    """Whether a websocket's user may connect: administrators and managers
    only once their session gave the second factor (like the pages)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    user = scope.get("user")
    if not getattr(settings, "OTP_REQUIRED", False) or not needs_second_factor(user):
        return True
    session = scope.get("session")
    return bool(session and session.get(DEVICE_ID_SESSION_KEY))


class SecondFactorMiddleware:
    """After django_otp's OTPMiddleware: sends an administrator or manager
    who has not given a code yet to the second-factor page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path_ = request.path
        if (
            getattr(settings, "OTP_REQUIRED", False)
            and path_.startswith(PROTECTED_PREFIXES)
            and not path_.startswith(OPEN_PATHS)
            and not request.user.is_verified()
            and needs_second_factor(request.user)
        ):
            return redirect(f"/securite/?next={quote(request.get_full_path())}")
        return self.get_response(request)


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=gettext_lazy("Code shown by your authenticator app"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": gettext_lazy("Enter the 6 digits shown by the app.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _device(user):
    """The user's confirmed device, or an unconfirmed one to register."""
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed is not None:
        return confirmed
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@login_required
def second_factor(request):
    device = _device(request.user)
    next_url = request.GET.get("next") or request.POST.get("next") or "/agents/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/agents/"
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _details = device.verify_is_allowed()
        if not allowed:
            form.add_error("code", _("Too many wrong codes: wait a few seconds, then try the current one."))
        elif device.verify_token(form.cleaned_data["code"].strip()):
            if not device.confirmed:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            return redirect(next_url)
        else:
            form.add_error("code", _("This code is not valid (or has expired): try the current one."))
    import base64

    secret = base64.b32encode(device.bin_key).decode() if not device.confirmed else ""
    return render(
        request,
        "contacts/second_factor.html",
        {
            "form": form,
            "registering": not device.confirmed,
            "secret": secret,
            "config_url": device.config_url,
            "next": next_url,
        },
        status=400 if form.errors else 200,
    )


urlpatterns = [path("securite/", second_factor, name="second-factor")]
