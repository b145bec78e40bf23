"""The citizens' pages. Thin: resolve the portal, check, call a service,
render. Served at /contact/<organisation>/ and, framed by another site, at
/w/<widget key>/."""

import functools

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from channels_app.links import followup_token
from channels_app.portal import followup, ratelimit
from channels_app.portal.forms import CallbackForm, ContactForm, FollowupReplyForm, NewLinkForm, RatingForm
from channels_app.portal.orientation import answer_for, orientation_token, record_orientation, topic_for
from channels_app.portal.search import search_topics
from channels_app.portal.site import portal_for
from channels_app.portal.submissions import (
    Request,
    SubmissionRefused,
    new_submission_token,
    read_submission_token,
    request_callback,
    submit_request,
)
from contacts.services.notifications import local_date
from contacts.services.ratings import rate, rating_of
from kb.models import Organisation, Topic
from kb.revision import pinned


def _content_security_policy(frame_ancestors):
    """The citizens' pages: their own scripts, the organisation's logo (any
    HTTPS address) and its colour (an inline style)."""
    return (
        f"default-src 'self'; img-src 'self' https: data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
        f"frame-ancestors {frame_ancestors}; form-action 'self'; base-uri 'none'"
    )


def _framing_headers(response, portal):
    response["Content-Security-Policy"] = _content_security_policy(portal.frame_ancestors())
    if portal.embedded:
        response.xframe_options_exempt = True
    return response


def portal_page(view):
    """Resolve the portal from the URL and set the framing policy."""

    @xframe_options_exempt
    @functools.wraps(view)
    def wrapper(request, organisation=None, widget=None, **kwargs):
        with pinned():  # one read of the knowledge-base revision per request
            portal = portal_for(organisation_slug=organisation, widget_key=widget)
            request.portal = portal
            if ratelimit.body_too_large(request):
                response = _refuse(
                    request, portal, 413, _("What you sent is too large. Attach fewer or smaller files.")
                )
            else:
                response = view(request, portal, **kwargs)
        if portal.widget is None:
            response["X-Frame-Options"] = "DENY"
        return _framing_headers(response, portal)

    return wrapper


def same_origin_post(view):
    """CSRF protection for the widget's pages. Inside another site's iframe
    the browser withholds our cookies (third-party), so Django's cookie-based
    check cannot work there; instead a POST must come from a page of ours
    (its Origin header names this site), and carries a signed form token."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST":
            origin = request.headers.get("Origin", "")
            own = f"{request.scheme}://{request.get_host()}"
            if origin != own and origin not in settings.CSRF_TRUSTED_ORIGINS:
                return render(
                    request,
                    "portal/refused.html",
                    {"message": _("This form must be sent from its own page.")},
                    status=403,
                )
        return view(request, *args, **kwargs)

    return wrapper


def _refuse(request, portal, status, message):
    return render(request, "portal/refused.html", {"portal": portal, "message": message}, status=status)


def _chosen_topic(request, portal):
    """The topic carried over from the guided path (``?sujet=owner/slug``)."""
    value = request.GET.get("sujet") or request.POST.get("sujet") or ""
    if "/" in value:
        owner, slug = value.split("/", 1)
        return topic_for(portal.organisation, slug, owner)
    if portal.widget is not None and portal.widget.default_topic_id:
        return Topic.objects.select_related("organisation").filter(pk=portal.widget.default_topic_id).first()
    return None


@portal_page
def home(request, portal):
    query = request.GET.get("q", "").strip()
    hits = []
    if query:
        if not ratelimit.allow_ip(request, "search"):
            return _refuse(request, portal, 429, _("Too many searches in a short time; please wait a minute."))
        hits = search_topics(query)
    roots = Topic.objects.filter(organisation=portal.organisation, parent__isnull=True).order_by("position", "title")
    return render(request, "portal/home.html", {"portal": portal, "query": query, "hits": hits, "roots": roots})


def front(request):
    """The site's front page: people who work here go to their tools, the
    public sees which administrations they can contact here."""
    profile = getattr(request.user, "agent", None) if request.user.is_authenticated else None
    if profile is not None:
        return redirect("/indicateurs/" if profile.role == profile.Role.MANAGER else "/agents/")
    if request.user.is_authenticated and request.user.is_staff:
        return redirect("/admin/")
    organisations = (
        Organisation.objects.filter(Exists(Topic.objects.filter(organisation=OuterRef("pk"), parent__isnull=True)))
        .order_by("name")
        .only("slug", "name")
    )
    response = render(request, "portal/front.html", {"organisations": organisations})
    response["Content-Security-Policy"] = _content_security_policy("'none'")
    return response


@portal_page
def chat(request, portal):
    return render(request, "portal/chat.html", {"portal": portal})


@portal_page
def search(request, portal):
    """The search results alone, for the search-as-you-type script."""
    if not ratelimit.allow_ip(request, "search"):
        return _refuse(request, portal, 429, _("Too many searches in a short time; please wait a minute."))
    query = request.GET.get("q", "").strip()
    return render(request, "portal/_results.html", {"portal": portal, "query": query, "hits": search_topics(query)})


def _orientation_once(request, portal, answer, postcode):
    """Record the orientation shown, once per visit, topic and place."""
    key = f"orientation:{answer.topic.pk}:{postcode}"
    seen = request.session.get("orientations", {})
    if key not in seen:
        orientation = record_orientation(
            portal.organisation,
            answer,
            channel="form",
            widget=portal.widget,
            postcode=postcode,
        )
        seen[key] = orientation.pk
        request.session["orientations"] = seen
    return seen[key]


@portal_page
def topic(request, portal, owner, slug):
    found = topic_for(portal.organisation, slug, owner)
    if found is None:
        raise Http404(_("This subject does not exist."))
    postcode = request.GET.get("cp", "").strip()
    if postcode and not (len(postcode) == 5 and postcode.isdigit()):
        postcode_error = _("Enter a postcode of 5 digits, e.g. 99100.")
        postcode = ""
    else:
        postcode_error = ""
    answer = answer_for(portal.organisation, found, postcode)
    orientation = ""
    if answer.service is not None and not answer.needs_narrowing:
        orientation = orientation_token(_orientation_once(request, portal, answer, postcode))
    return render(
        request,
        "portal/topic.html",
        {
            "portal": portal,
            "answer": answer,
            "topic": found,
            "postcode": postcode,
            "postcode_error": postcode_error,
            "orientation": orientation,
            "topic_ref": f"{found.organisation.slug}/{found.slug}",
            "territorial": any(service.has_territory for service in found.candidate_services()),
        },
    )


def _form_page(request, portal, form_class, template, submit):
    """A public form: checks, then ``submit(request_, cleaned_data,
    submission_id)`` makes the ticket; a confirmation page follows."""
    topic_ = _chosen_topic(request, portal)
    if request.method == "POST":
        form = form_class(request.POST, request.FILES)
        if form.is_robot():
            return _refuse(request, portal, 400, _("Your request could not be sent."))
        if not ratelimit.allow_ip(request, "submit"):
            return _refuse(request, portal, 429, _("Too many requests sent from your connection; try again later."))
        if form.is_valid():
            data = form.cleaned_data
            if not ratelimit.allow_contact("submit", data.get("email") or data.get("phone")):
                return _refuse(request, portal, 429, _("You have sent many requests recently; try again later."))
            try:
                ticket, _created = submit(
                    Request.from_form(
                        data,
                        topic=topic_,
                        orientation_id=data.get("orientation"),
                        origin=request.META.get("HTTP_REFERER", ""),
                    ),
                    data,
                    read_submission_token(data["submission"]),
                )
            except SubmissionRefused as error:
                form.add_error(None, str(error))
            else:
                return redirect(f"{portal.base}merci/{followup_token(ticket)}/")
    else:
        form = form_class(
            initial={"submission": new_submission_token(), "orientation": request.GET.get("orientation") or None}
        )
    return render(request, template, {"portal": portal, "form": form, "topic": topic_})


@require_http_methods(["GET", "POST"])
@portal_page
def write(request, portal):
    return _form_page(
        request,
        portal,
        ContactForm,
        "portal/write.html",
        lambda request_, data, submission_id: submit_request(portal, request_, submission_id),
    )


@require_http_methods(["GET", "POST"])
@portal_page
def callback(request, portal):
    return _form_page(
        request,
        portal,
        CallbackForm,
        "portal/callback.html",
        lambda request_, data, submission_id: request_callback(portal, request_, data["slots"], submission_id),
    )


@portal_page
def thanks(request, portal, token):
    try:
        ticket = followup.ticket_from_token(token)
    except (followup.LinkInvalid, followup.LinkExpired):
        raise Http404(_("This page does not exist.")) from None
    if ticket.organisation_id != portal.organisation.pk:
        raise Http404(_("This page does not exist."))
    return render(
        request,
        "portal/thanks.html",
        {
            "portal": portal,
            "ticket": ticket,
            "due": local_date(ticket.organisation, ticket.due_at) if ticket.due_at else "",
            "followup_path": f"/suivi/{token}/",
            "callback": hasattr(ticket, "callback_request"),
        },
    )


# -- the follow-up page -----------------------------------------------------------


def _followup_portal(ticket):
    return portal_for(organisation_slug=ticket.organisation.slug)


def _link_problem(request, expired):
    status = 410 if expired else 404
    form = NewLinkForm()
    return render(
        request, "portal/followup_link.html", {"form": form, "expired": expired, "invalid": True}, status=status
    )


@require_http_methods(["GET", "POST"])
def followup_page(request, token):
    if not ratelimit.allow_ip(request, "followup"):
        return render(
            request, "portal/refused.html", {"message": _("Too many requests; please wait a little.")}, status=429
        )
    if ratelimit.body_too_large(request):
        return render(
            request,
            "portal/refused.html",
            {"message": _("What you sent is too large. Attach fewer or smaller files.")},
            status=413,
        )
    try:
        ticket = followup.ticket_from_token(token)
    except followup.LinkExpired:
        return _link_problem(request, expired=True)
    except followup.LinkInvalid:
        return _link_problem(request, expired=False)
    portal = _followup_portal(ticket)
    selected = ticket
    reply_form = rating_form = None
    notice = ""
    action = request.POST.get("action")
    if request.method == "POST" and action == "reply" and followup.can_reply(selected):
        reply_form = FollowupReplyForm(request.POST, request.FILES)
        if reply_form.is_valid() and not reply_form.is_robot():
            try:
                submission_id = read_submission_token(reply_form.cleaned_data["submission"])
            except SubmissionRefused as error:
                reply_form.add_error(None, str(error))
            else:
                followup.reply(
                    selected, reply_form.cleaned_data["message"], reply_form.cleaned_data["attachments"], submission_id
                )
                return redirect(f"/suivi/{token}/?envoye=1#fil")
    elif request.method == "POST" and action == "rate":
        rating_form = RatingForm(request.POST)
        if rating_form.is_valid():
            try:
                rate(selected, rating_form.cleaned_data["score"], rating_form.cleaned_data["comment"])
            except ValidationError as error:
                rating_form.add_error(None, error)
            else:
                return redirect(f"/suivi/{token}/?avis=1#avis")
    if request.GET.get("envoye"):
        notice = _("Your message has been added to your request.")
    elif request.GET.get("avis"):
        notice = _("Thank you for your rating.")
    reply_form = reply_form or FollowupReplyForm(initial={"submission": new_submission_token()})
    rating_form = rating_form or RatingForm()
    response = render(
        request,
        "portal/followup.html",
        {
            "portal": portal,
            "token": token,
            "ticket": selected,
            "messages_": followup.public_messages(selected),
            "can_reply": followup.can_reply(selected),
            "rating": rating_of(selected),
            "rateable": selected.status in ("resolved", "closed"),
            "reply_form": reply_form,
            "rating_form": rating_form,
            "notice": notice,
            "due": local_date(selected.organisation, selected.due_at) if selected.due_at else "",
        },
    )
    response["X-Frame-Options"] = "DENY"
    # The link is a secret: never sent to other sites (same-origin keeps the
    # Origin header that CSRF checks need).
    response["Referrer-Policy"] = "same-origin"
    return response


@require_http_methods(["GET", "POST"])
def new_link(request):
    """A lost follow-up link, sent again to the address or number given."""
    sent = False
    if request.method == "POST":
        form = NewLinkForm(request.POST)
        if not ratelimit.allow_ip(request, "relink"):
            return render(
                request, "portal/refused.html", {"message": _("Too many requests; please try again later.")}, status=429
            )
        if form.is_valid():
            address = form.cleaned_data["address"]
            if ratelimit.allow_contact("relink", address):
                followup.send_new_link(address)
            sent = True
    else:
        form = NewLinkForm()
    response = render(request, "portal/followup_link.html", {"form": form, "sent": sent})
    response["X-Frame-Options"] = "DENY"
    return response


def followup_attachment(request, token, pk):
    """A document of one of the citizen's requests, to the holder of its link."""
    from django.http import FileResponse

    from contacts.models import Attachment

    try:
        ticket = followup.ticket_from_token(token)
    except (followup.LinkInvalid, followup.LinkExpired):
        raise Http404(_("This document does not exist.")) from None
    attachment = (
        Attachment.objects.filter(pk=pk, message__is_internal=False, message__ticket=ticket)
        .select_related("message")
        .first()
    )
    if attachment is None:
        raise Http404(_("This document does not exist."))
    if not attachment.downloadable:  # pending, quarantined or unscannable: never served
        context = {"portal": _followup_portal(ticket), "message": attachment.citizen_scan_notice}
        return render(request, "portal/refused.html", context, status=403)
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
