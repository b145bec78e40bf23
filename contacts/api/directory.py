"""Contacts and the knowledge base in the agents' API, read only.

A contact is shown only to an agent who may see at least one of their
tickets; the knowledge base is the agent's organisation's (that a topic is
sensitive is no secret, its tickets are)."""

from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from contacts.api import serializers as s
from contacts.api.access import AgentAPIView
from contacts.api.tickets import BAD_INPUT, NO_ACCESS, NOT_FOUND
from contacts.inbox import queries
from contacts.inbox.timeline import article_html
from contacts.models import Contact
from kb.models import Service, Topic, TopicService

CONTACT_TICKETS = 50


class ContactQuery(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ContactList(AgentAPIView):
    @extend_schema(
        operation_id="contacts_list",
        summary="Citizens with at least one ticket you may see, newest first (keyset pages)",
        parameters=[
            OpenApiParameter("q", str, description="Part of a name, an email address or a phone number"),
            OpenApiParameter("cursor", str, description="The next_cursor of the previous page"),
        ],
        responses={200: s.ContactPageSerializer, 400: BAD_INPUT, 401: NO_ACCESS, 403: NO_ACCESS},
    )
    def get(self, request):
        shape = ContactQuery(data=request.query_params)
        shape.is_valid(raise_exception=True)
        contacts = self.contacts()
        text = " ".join(shape.validated_data.get("q", "").split())
        if text:
            contacts = contacts.filter(
                Q(name__icontains=text) | Q(email__icontains=text) | Q(phone__contains=text.replace(" ", ""))
            )
        cursor = shape.validated_data.get("cursor")
        if cursor:
            try:
                created_at, pk = queries.decode_cursor(cursor)
            except queries.InvalidCursor as exc:
                message = _("This page cursor is not valid; start again from the first page.")
                raise ValidationError({"cursor": [message]}) from exc
            contacts = contacts.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
        rows = list(contacts.order_by("-created_at", "-pk")[: queries.PAGE_SIZE + 1])
        next_cursor = next_url = None
        if len(rows) > queries.PAGE_SIZE:
            rows = rows[: queries.PAGE_SIZE]
            next_cursor = queries.encode_cursor(rows[-1], "created_at")
            query = request.query_params.copy()
            query["cursor"] = next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response(
            {"results": s.ContactSerializer(rows, many=True).data, "next_cursor": next_cursor, "next": next_url}
        )

    def contacts(self):
        return Contact.objects.filter(Exists(self.visible_tickets().filter(contact=OuterRef("pk"))))


class ContactDetail(AgentAPIView):
    @extend_schema(
        operation_id="contacts_detail",
        summary="A citizen and their tickets you may see",
        responses={200: s.ContactDetailSerializer, 401: NO_ACCESS, 403: NO_ACCESS, 404: NOT_FOUND},
    )
    def get(self, request, pk):
        tickets = list(
            self.visible_tickets()
            .filter(contact_id=pk)
            .select_related("contact")
            .only("reference", "subject", "status", "created_at", "contact")
            .order_by("-created_at", "-pk")[:CONTACT_TICKETS]
        )
        if not tickets:
            raise NotFound(_("No such contact."))
        data = s.ContactSerializer(tickets[0].contact).data
        data["tickets"] = s.ContactTicketSerializer(tickets, many=True).data
        return Response(data)


class ServiceList(AgentAPIView):
    @extend_schema(
        operation_id="kb_services_list",
        summary="Your organisation's services and how citizens reach them",
        responses={200: s.KBServiceSerializer(many=True), 401: NO_ACCESS, 403: NO_ACCESS},
    )
    def get(self, request):
        services = Service.objects.filter(organisation=self.agent.organisation).prefetch_related("contact_points")
        return Response(s.KBServiceSerializer(services, many=True).data)


class TopicList(AgentAPIView):
    @extend_schema(
        operation_id="kb_topics_list",
        summary="Your organisation's knowledge-base topics",
        responses={200: s.KBTopicSerializer(many=True), 401: NO_ACCESS, 403: NO_ACCESS},
    )
    def get(self, request):
        topics = (
            Topic.objects.filter(organisation=self.agent.organisation)
            .select_related("parent")
            .order_by("position", "slug")
        )
        return Response(s.KBTopicSerializer(topics, many=True).data)


class TopicDetail(AgentAPIView):
    @extend_schema(
        operation_id="kb_topics_detail",
        summary="A topic of your organisation: its article and candidate services",
        responses={200: s.KBTopicDetailSerializer, 401: NO_ACCESS, 403: NO_ACCESS, 404: NOT_FOUND},
    )
    def get(self, request, slug):
        links = TopicService.objects.select_related("service__organisation").order_by("position", "pk")
        topic = (
            Topic.objects.filter(organisation=self.agent.organisation, slug=slug)
            .select_related("parent")
            .prefetch_related(Prefetch("service_links", queryset=links), "children")
            .first()
        )
        if topic is None:
            raise NotFound(_("No such topic."))
        topic.article_html = article_html(topic.article)
        topic.services_in_order = [link.service for link in topic.service_links.all()]
        topic.child_slugs = sorted(child.slug for child in topic.children.all())
        return Response(s.KBTopicDetailSerializer(topic).data)
