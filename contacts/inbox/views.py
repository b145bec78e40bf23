"""The inbox's views: parse, check, call a service, render."""

import uuid

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from contacts import services
from contacts.inbox import actions, queries, tags, timeline
from contacts.inbox.access import agent_required, may_reassign, visible_ticket, with_csp
from contacts.inbox.forms import (
    AssignForm,
    DocumentsForm,
    FilterForm,
    MergeForm,
    NoteForm,
    PriorityForm,
    ReplyForm,
    StatusForm,
    TagForm,
    TopicForm,
    TransferForm,
)
from contacts.inbox.replies import TemplateChoice, render_reply_template, templates_for
from contacts.models import Attachment, Ticket
from contacts.services.audit import record_access
from contacts.services.merging import merge as merge_tickets
from contacts.services.tags import add_tag as add_ticket_tag
from contacts.services.tags import remove_tag as remove_ticket_tag


class LoginView(auth_views.LoginView):
    template_name = "inbox/login.html"
    redirect_authenticated_user = True

    def dispatch(self, request, *args, **kwargs):
        return with_csp(super().dispatch(request, *args, **kwargs))


class LogoutView(auth_views.LogoutView):
    next_page = "inbox:login"


@require_GET
@agent_required
def inbox(request):
    """A view of the inbox (GET ?view=...), filtered and searched; htmx
    requests get the list alone."""
    view = queries.VIEWS.get(request.GET.get("view") or queries.DEFAULT_VIEW)
    if view is None:
        raise Http404("no such view")
    profile = request.agent
    form = FilterForm(request.GET or None, organisation=profile.organisation)
    tickets, services_pk = queries.scoped(request.user, profile)
    now = timezone.now()
    tickets = tickets.filter(view.condition(request.user, services_pk, now))
    error = None
    rows, next_cursor = [], None
    if form.is_bound and not form.is_valid():
        error = _("Some filters are not valid; correct them to see the list.")
    else:
        data = form.cleaned_data if form.is_bound else {}
        try:
            rows, next_cursor = queries.page(
                queries.apply_filters(tickets, data, request.user), view, request.GET.get("after")
            )
        except queries.InvalidCursor:
            error = _("This page link is not valid; start again from the first page.")
    context = {
        "view": view,
        "form": form,
        "rows": rows,
        "next_cursor": next_cursor,
        "error": error,
        "now": now,
        "next_url": _next_url(request, view, next_cursor),
        "filters_active": any(request.GET.get(name) for name in form.fields if name != "q"),
    }
    status = 400 if error else 200
    if request.headers.get("HX-Request") and request.GET.get("after"):
        return render(request, "inbox/_rows.html", context, status=status)
    context["view_items"] = _view_items(queries.view_counts(request.user, profile, now))
    if request.headers.get("HX-Request"):
        context["oob_counts"] = True
        return render(request, "inbox/_results.html", context, status=status)
    context["tag_suggestions"] = tags.suggestions(profile.organisation_id)
    return render(request, "inbox/inbox.html", context, status=status)


def _next_url(request, view, cursor):
    if not cursor:
        return ""
    query = request.GET.copy()
    query["view"] = view.slug
    query["after"] = cursor
    return f"{reverse('inbox:index')}?{query.urlencode()}"


def _view_items(counts):
    return [{"view": view, "count": counts[slug]} for slug, view in queries.VIEWS.items()]


def _ticket_page(request, ticket, status=200, **forms):
    profile = request.agent
    organisation = profile.organisation
    channels = actions.reply_channels(ticket)
    other_tickets = (
        Ticket.objects.visible_to(request.user)
        .filter(contact_id=ticket.contact_id)
        .exclude(pk=ticket.pk)
        .only("reference", "subject", "status", "created_at")
        .order_by("-created_at")[:10]
    )
    merge_targets = [other for other in other_tickets if other.status != Ticket.Status.CLOSED]
    templates = templates_for(ticket, channels[0][0] if channels else None)
    context = {
        "ticket": ticket,
        # Where a merged duplicate went, named only to who may open it.
        "merged_into": (
            Ticket.objects.visible_to(request.user).filter(pk=ticket.merged_into_id).only("reference").first()
            if ticket.merged_into_id
            else None
        ),
        "entries": timeline.build(ticket, request.user),
        "article": timeline.article_html(_article_of(ticket.topic)),
        "other_tickets": other_tickets,
        "templates": templates,
        "suggested_templates": [template for template in templates if template.suggested],
        "channels": channels,
        "reply_form": forms.get("reply_form")
        or ReplyForm(channels=channels, initial={"channel": channels[0][0] if channels else ""}),
        "note_form": forms.get("note_form") or NoteForm(),
        "transfer_form": forms.get("transfer_form") or TransferForm(organisation=organisation),
        "assign_form": forms.get("assign_form") or AssignForm(organisation=organisation),
        "status_form": forms.get("status_form") or StatusForm(initial={"status": ticket.status}),
        "priority_form": forms.get("priority_form") or PriorityForm(initial={"priority": ticket.priority}),
        "topic_form": forms.get("topic_form") or TopicForm(organisation=organisation, initial={"topic": ticket.topic}),
        "documents_form": forms.get("documents_form") or DocumentsForm(),
        "merge_form": forms.get("merge_form") or MergeForm(targets=merge_targets),
        "merge_targets": merge_targets,
        "tag_form": forms.get("tag_form") or TagForm(),
        "tag_suggestions": tags.suggestions(organisation.pk),
        # A fresh one-time key per page: a double click sends once.
        "once": uuid.uuid4().hex,
        "action_error": forms.get("action_error"),
        "may_reassign": may_reassign(profile, ticket, request.user),
        "now": timezone.now(),
    }
    return render(request, "inbox/ticket.html", context, status=status)


def _article_of(topic):
    """The topic's article, else its parent's (a sub-topic often has none)."""
    if topic is None:
        return ""
    return topic.article or (topic.parent.article if topic.parent_id else "")


@require_GET
@agent_required
def ticket_detail(request, reference):
    ticket = visible_ticket(request, reference)
    record_access(request.user, ticket, what="page")
    return _ticket_page(request, ticket)


def _done(request, ticket, text):
    messages.success(request, text)
    return redirect("inbox:ticket", reference=ticket.reference)


def _error_text(exc):
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def _act(request, ticket, form_name, form, operation, success):
    """Run ``operation(form.cleaned_data)`` for a valid form; on a refused
    action or bad input, show the ticket page again with what was wrong."""
    if form.is_valid():
        try:
            operation(form.cleaned_data)
        except (services.TicketActionError, ValidationError) as exc:
            return _ticket_page(request, ticket, status=400, action_error=_error_text(exc), **{form_name: form})
        return _done(request, ticket, success)
    return _ticket_page(request, ticket, status=400, **{form_name: form})


def _already_sent(request):
    """The same form posted again (a double click, a resent request)."""
    once = request.POST.get("once", "")[:64]
    return bool(once) and not cache.add(f"inbox-once:{request.user.pk}:{once}", 1, 3600)


@require_POST
@agent_required
def reply(request, reference):
    ticket = visible_ticket(request, reference)
    if _already_sent(request):
        return _done(request, ticket, _("This answer has already been sent."))
    # Never empty: the follow-up page can always carry an answer.
    form = ReplyForm(request.POST, request.FILES, channels=actions.reply_channels(ticket))
    return _act(
        request,
        ticket,
        "reply_form",
        form,
        lambda data: services.reply(
            ticket,
            request.user,
            data["text"],
            channel=data["channel"],
            subject=data.get("subject", ""),
            attachments=actions.documents(data.get("documents")),
        ),
        _("Your answer is on its way."),
    )


@require_POST
@agent_required
def note(request, reference):
    ticket = visible_ticket(request, reference)
    form = NoteForm(request.POST)
    return _act(
        request,
        ticket,
        "note_form",
        form,
        lambda data: actions.add_note(ticket, request.user, request.agent.organisation, data["text"]),
        _("Note added."),
    )


@require_POST
@agent_required
def claim(request, reference):
    ticket = visible_ticket(request, reference)
    try:
        actions.claim(ticket, request.user)
    except services.TicketActionError as exc:
        return _ticket_page(request, ticket, status=409, action_error=str(exc))
    return _done(request, ticket, _("The ticket is yours."))


@require_POST
@agent_required
def assign(request, reference):
    ticket = visible_ticket(request, reference)
    form = AssignForm(request.POST, organisation=request.agent.organisation)
    return _act(
        request,
        ticket,
        "assign_form",
        form,
        lambda data: actions.pass_to_agent(ticket, request.agent, request.user, data["assignee"], data["reason"]),
        _("The ticket was given to another agent."),
    )


@require_POST
@agent_required
def transfer(request, reference):
    ticket = visible_ticket(request, reference)
    form = TransferForm(request.POST, organisation=request.agent.organisation)
    return _act(
        request,
        ticket,
        "transfer_form",
        form,
        lambda data: services.transfer(ticket, request.user, data["service"], data["reason"]),
        _("The ticket was transferred."),
    )


@require_POST
@agent_required
def change_status(request, reference):
    ticket = visible_ticket(request, reference)
    form = StatusForm(request.POST)
    return _act(
        request,
        ticket,
        "status_form",
        form,
        lambda data: services.change_status(ticket, data["status"], request.user),
        _("Status changed."),
    )


@require_POST
@agent_required
def change_priority(request, reference):
    ticket = visible_ticket(request, reference)
    form = PriorityForm(request.POST)
    return _act(
        request,
        ticket,
        "priority_form",
        form,
        lambda data: actions.change_priority(ticket, request.user, data["priority"]),
        _("Priority changed."),
    )


@require_POST
@agent_required
def change_topic(request, reference):
    ticket = visible_ticket(request, reference)
    form = TopicForm(request.POST, organisation=request.agent.organisation)
    return _act(
        request,
        ticket,
        "topic_form",
        form,
        lambda data: services.change_topic(ticket, request.user, data["topic"]),
        _("Topic changed."),
    )


@require_GET
@agent_required
def template_preview(request, reference):
    """The composer filled with a reply template rendered for this ticket."""
    ticket = visible_ticket(request, reference)
    channels = actions.reply_channels(ticket)
    choice = TemplateChoice(request.GET, ticket=ticket)
    error = None
    initial = {"channel": request.GET.get("channel") or (channels[0][0] if channels else "")}
    if choice.is_valid():
        try:
            initial.update(render_reply_template(choice.cleaned_data["template"], ticket, request.user))
        except ValueError as exc:
            error = str(exc)
    else:
        error = _("Choose one of the templates offered.")
    form = ReplyForm(channels=channels, initial=initial)
    context = {"ticket": ticket, "reply_form": form, "template_error": error, "channels": channels}
    return render(request, "inbox/_composer_fields.html", context, status=400 if error else 200)


@require_GET
@agent_required
def attachment(request, pk):
    """A document of a ticket the agent may see; 404 otherwise."""
    found = (
        Attachment.objects.filter(pk=pk, message__ticket__in=Ticket.objects.visible_to(request.user))
        .select_related("message__ticket__topic")
        .first()
    )
    if found is None:
        raise Http404("no such attachment")
    if not found.downloadable:  # pending, quarantined or unscannable: never served
        return render(request, "inbox/document_unavailable.html", {"document": found}, status=403)
    record_access(request.user, found.message.ticket, attachment=found)
    try:
        handle = found.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("file missing") from exc
    response = FileResponse(handle, as_attachment=True, filename=found.filename, content_type=found.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_POST
@agent_required
def availability(request):
    """The agent says whether new tickets may be assigned to them."""
    profile = actions.set_availability(request.agent, request.POST.get("available") == "1")
    if profile.is_available:
        messages.success(request, _("You are available: new requests may be assigned to you."))
    else:
        messages.success(request, _("You are away: no new request will be assigned to you."))
    return redirect(_next_or_index(request))


def _next_or_index(request):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("inbox:index")


@require_POST
@agent_required
def request_documents(request, reference):
    """Ask the citizen for documents by a date: they are told now, reminded
    before it, and the request waits for them (the SLA clock pauses)."""
    ticket = visible_ticket(request, reference)
    if _already_sent(request):
        return _done(request, ticket, _("These documents have already been asked for."))
    form = DocumentsForm(request.POST)

    def ask(data):
        from django.db import transaction

        from contacts.services.notifications import request_documents as ask_for

        with transaction.atomic():  # the citizen is told only if the request waits for them
            ask_for(ticket, request.user, data["text"], data["due_date"])
            if ticket.status != Ticket.Status.PENDING and ticket.can_transition(Ticket.Status.PENDING):
                services.change_status(ticket, Ticket.Status.PENDING, request.user)

    return _act(request, ticket, "documents_form", form, ask, _("Documents requested: the citizen is told."))


@require_POST
@agent_required
def merge(request, reference):
    """Merge this request into another of the same citizen; both must be
    visible to the agent (404 otherwise, whatever reference is posted)."""
    ticket = visible_ticket(request, reference)
    form = MergeForm(request.POST, targets=_merge_targets(request, ticket))
    if not form.is_valid():
        return _ticket_page(request, ticket, status=400, merge_form=form)
    target = visible_ticket(request, form.cleaned_data["into"].strip())
    try:
        merge_tickets(ticket, target, request.user)
    except services.TicketActionError as exc:
        return _ticket_page(request, ticket, status=400, action_error=str(exc), merge_form=form)
    return _done(
        request,
        target,
        _("Request %(source)s was merged into this one.") % {"source": ticket.reference},
    )


def _merge_targets(request, ticket):
    return list(
        Ticket.objects.visible_to(request.user)
        .filter(contact_id=ticket.contact_id)
        .exclude(pk=ticket.pk)
        .exclude(status=Ticket.Status.CLOSED)
        .only("reference", "subject")
        .order_by("-created_at")[:10]
    )


@require_POST
@agent_required
def add_tag(request, reference):
    ticket = visible_ticket(request, reference)
    form = TagForm(request.POST)

    def add(data):
        tag = add_ticket_tag(ticket, request.user, data["tag"])
        tags.forget(ticket.organisation_id)
        return tag

    return _act(request, ticket, "tag_form", form, add, _("Tag added."))


@require_POST
@agent_required
def remove_tag(request, reference):
    ticket = visible_ticket(request, reference)
    form = TagForm(request.POST)
    return _act(
        request,
        ticket,
        "tag_form",
        form,
        lambda data: remove_ticket_tag(ticket, request.user, data["tag"]),
        _("Tag removed."),
    )
