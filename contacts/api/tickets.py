"""Tickets in the agents' API: list and search (the inbox's views, filters
and keyset pages), detail, and the inbox's actions. Thin: parse, find the
ticket through ``visible_to``, call the service, answer."""

from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from contacts import services
from contacts.api import serializers as s
from contacts.api.access import AgentAPIView
from contacts.inbox import actions, queries, timeline
from contacts.inbox.forms import FilterForm
from contacts.services.audit import record_access

NOT_FOUND = OpenApiResponse(s.ErrorSerializer, description="Unknown, or not yours to see: the same answer.")
BAD_INPUT = OpenApiResponse(description="What was wrong, by field: {field: [messages]}.")
NO_ACCESS = OpenApiResponse(s.ErrorSerializer, description="Not authenticated, or not an agent.")
REFERENCE = OpenApiParameter("reference", str, OpenApiParameter.PATH, description="The ticket's reference")


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("Someone else changed this ticket first.")


def form_errors(form):
    """A Django form's errors as the API reports them: {field: [messages]}."""
    return {field: [error["message"] for error in errors] for field, errors in form.errors.get_json_data().items()}


def refused(exc, field):
    """A service's refusal as a 400 that says where: {field: [message]}."""
    messages = exc.messages if isinstance(exc, DjangoValidationError) else [str(exc)]
    return ValidationError({field: messages})


FILTERS = [
    OpenApiParameter("view", str, enum=list(queries.VIEWS), description="An inbox view; default: all"),
    OpenApiParameter("q", str, description='French full-text search (words, "phrases", -excluded)'),
    OpenApiParameter("channel", str),
    OpenApiParameter("status", str),
    OpenApiParameter("priority", str),
    OpenApiParameter("service", int, description="A service id"),
    OpenApiParameter("topic", int, description="A topic id"),
    OpenApiParameter("assignee", str, description='"me", "none" or an agent\'s user id'),
    OpenApiParameter("tag", str),
    OpenApiParameter("created_from", str, description="YYYY-MM-DD"),
    OpenApiParameter("created_to", str, description="YYYY-MM-DD"),
    OpenApiParameter("cursor", str, description="The next_cursor of the previous page"),
]


class TicketList(AgentAPIView):
    @extend_schema(
        operation_id="tickets_list",
        summary="Tickets you may see: an inbox view, filtered and searched, newest first (keyset pages)",
        parameters=FILTERS,
        responses={200: s.TicketPageSerializer, 400: BAD_INPUT, 401: NO_ACCESS, 403: NO_ACCESS},
    )
    def get(self, request):
        params = request.query_params
        view = queries.VIEWS.get(params.get("view") or "all")
        if view is None:
            raise ValidationError({"view": [_("Choose one of: %(views)s.") % {"views": ", ".join(queries.VIEWS)}]})
        form = FilterForm(params, organisation=self.agent.organisation)
        if not form.is_valid():
            raise ValidationError(form_errors(form))
        tickets, services_pk = queries.scoped(request.user, self.agent)
        tickets = tickets.filter(view.condition(request.user, services_pk, timezone.now()))
        try:
            rows, cursor = queries.page(
                queries.apply_filters(tickets, form.cleaned_data, request.user), view, params.get("cursor")
            )
        except queries.InvalidCursor as exc:
            raise ValidationError(
                {"cursor": [_("This page cursor is not valid; start again from the first page.")]}
            ) from exc
        next_url = None
        if cursor:
            query = params.copy()
            query["cursor"] = cursor
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"results": s.TicketSerializer(rows, many=True).data, "next_cursor": cursor, "next": next_url})


class TicketDetail(AgentAPIView):
    @extend_schema(
        operation_id="tickets_detail",
        summary="A ticket: contact, messages in and out, internal notes and events",
        parameters=[REFERENCE],
        responses={200: s.TicketDetailSerializer, 401: NO_ACCESS, 403: NO_ACCESS, 404: NOT_FOUND},
    )
    def get(self, request, reference):
        ticket = self.ticket(reference)
        record_access(request.user, ticket, what="api")
        entries = timeline.build(ticket, request.user)
        ticket.timeline_messages = [entry.message for entry in entries if entry.message is not None]
        ticket.timeline_events = [entry for entry in entries if entry.event is not None]
        ticket.reply_channel_values = [channel for channel, _label in actions.reply_channels(ticket)]
        return Response(s.TicketDetailSerializer(ticket).data)


class TicketAction(AgentAPIView):
    """POST on a ticket: validate ``input`` then ``act``."""

    input = None

    def post(self, request, reference):
        ticket = self.ticket(reference)
        shape = self.input(data=request.data, context={"organisation": self.agent.organisation})
        shape.is_valid(raise_exception=True)
        return self.act(ticket, shape.validated_data)

    def changed(self, ticket):
        return Response(s.TicketSerializer(ticket).data)


def _action_schema(summary, request, created=False):
    ok = {201: s.MessageSerializer} if created else {200: s.TicketSerializer}
    return extend_schema(
        summary=summary,
        parameters=[REFERENCE],
        request=request,
        responses={**ok, 400: BAD_INPUT, 401: NO_ACCESS, 403: NO_ACCESS, 404: NOT_FOUND},
    )


class Reply(TicketAction):
    input = s.ReplyInput

    @extend_schema(
        summary="Answer the citizen (by their channel unless another is asked)",
        parameters=[
            REFERENCE,
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Chosen by the client once per answer: a retry with it is not sent twice (409).",
            ),
        ],
        request=s.ReplyInput,
        responses={
            201: s.MessageSerializer,
            400: BAD_INPUT,
            401: NO_ACCESS,
            403: NO_ACCESS,
            404: NOT_FOUND,
            409: s.ErrorSerializer,
        },
    )
    def post(self, request, reference):
        key = request.headers.get("Idempotency-Key", "")[:100]
        once = f"api-reply-once:{request.user.pk}:{reference[:40]}:{key}" if key else None
        if once and not cache.add(once, 1, 24 * 3600):
            raise Conflict(_("This answer has already been sent."))
        self.stored = False
        try:
            return super().post(request, reference)
        except Exception:
            if once and not self.stored:
                cache.delete(once)  # refused before it was stored: the same key may be tried again
            raise

    def act(self, ticket, data):
        try:
            message = services.reply(
                ticket, self.request.user, data["text"], channel=data.get("channel"), subject=data.get("subject", "")
            )
        except services.TicketActionError as exc:
            raise refused(exc, "channel") from exc
        self.stored = True  # committed with its outbox row: a retry must not send it again
        return Response(s.MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class Note(TicketAction):
    input = s.NoteInput

    @_action_schema("Add an internal note (@username tells a colleague)", s.NoteInput, created=True)
    def post(self, request, reference):
        return super().post(request, reference)

    def act(self, ticket, data):
        try:
            message = actions.add_note(ticket, self.request.user, self.agent.organisation, data["text"])
        except services.TicketActionError as exc:
            raise refused(exc, "text") from exc
        return Response(s.MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class Assign(TicketAction):
    input = s.AssignInput

    @_action_schema("Give the ticket to an agent, with the reason why", s.AssignInput)
    def post(self, request, reference):
        return super().post(request, reference)

    def act(self, ticket, data):
        try:
            ticket = actions.pass_to_agent(ticket, self.agent, self.request.user, data["assignee"], data["reason"])
        except services.TicketActionError as exc:
            raise refused(exc, "assignee") from exc
        return self.changed(ticket)


class Claim(AgentAPIView):
    @extend_schema(
        summary="Take the ticket (409 when a colleague took it first)",
        parameters=[REFERENCE],
        request=None,
        responses={200: s.TicketSerializer, 401: NO_ACCESS, 403: NO_ACCESS, 404: NOT_FOUND, 409: s.ErrorSerializer},
    )
    def post(self, request, reference):
        ticket = self.ticket(reference)
        try:
            ticket = actions.claim(ticket, request.user)
        except services.TicketActionError as exc:
            raise Conflict(str(exc)) from exc
        return Response(s.TicketSerializer(ticket).data)


class Transfer(TicketAction):
    input = s.TransferInput

    @_action_schema("Transfer the ticket to another service, with the reason why", s.TransferInput)
    def post(self, request, reference):
        return super().post(request, reference)

    def act(self, ticket, data):
        try:
            ticket = services.transfer(ticket, self.request.user, data["service"], data["reason"])
        except services.TicketActionError as exc:
            raise refused(exc, "service") from exc
        return self.changed(ticket)


class Status(TicketAction):
    input = s.StatusInput

    @_action_schema("Change the ticket's status (the state machine says which moves are allowed)", s.StatusInput)
    def post(self, request, reference):
        return super().post(request, reference)

    def act(self, ticket, data):
        try:
            ticket = services.change_status(ticket, data["status"], self.request.user)
        except (services.TicketActionError, DjangoValidationError) as exc:
            raise refused(exc, "status") from exc
        return self.changed(ticket)
