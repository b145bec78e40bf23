"""The public JSON API, per widget: ``/api/v1/widgets/<key>/...``.

A browser calling it from another site must come from one of the widget's
allowed origins (CORS answers only those); rate limits as on the pages.
"""

from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, Throttled, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_app.api import serializers as s
from channels_app.links import followup_url
from channels_app.portal import ratelimit
from channels_app.portal.forms import CallbackForm, ContactForm
from channels_app.portal.orientation import answer_for, orientation_token, record_orientation, topic_for
from channels_app.portal.search import search_topics
from channels_app.portal.site import portal_for
from channels_app.portal.submissions import Request, SubmissionRefused, request_callback, submit_request
from kb.revision import pinned

CORS_HEADERS = "Content-Type, Accept-Language"


class TooLarge(APIException):
    status_code = 413
    default_detail = gettext_lazy("What you sent is too large. Attach fewer or smaller files.")


class WidgetAPIView(APIView):
    """Resolves the widget from the URL, checks the Origin, answers CORS."""

    authentication_classes = []
    permission_classes = []

    def dispatch(self, request, *args, **kwargs):
        with pinned():  # one read of the knowledge-base revision per request
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        if ratelimit.body_too_large(request._request):
            raise TooLarge()
        super().initial(request, *args, **kwargs)
        try:
            self.portal = portal_for(widget_key=kwargs["key"])
        except Http404 as error:
            raise NotFound(_("Unknown or disabled widget key.")) from error
        origin = request.headers.get("Origin")
        if origin and not self.portal.widget.allows(origin):
            raise PermissionDenied(_("This site (%(origin)s) may not use this widget.") % {"origin": origin})

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        origin = request.headers.get("Origin")
        portal = getattr(self, "portal", None)
        if origin and portal is not None and portal.widget.allows(origin):
            response["Access-Control-Allow-Origin"] = origin
            response["Vary"] = "Origin"
        return response

    def options(self, request, *args, **kwargs):
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = CORS_HEADERS
        response["Access-Control-Max-Age"] = "600"
        return response

    def throttle(self, scope):
        if not ratelimit.allow_ip(self.request._request, scope):
            raise Throttled(detail=_("Too many requests; please wait a little."))


class TopicSearch(WidgetAPIView):
    @extend_schema(
        summary="Search the knowledge base's topics (as the citizen types)",
        parameters=[OpenApiParameter("q", str, required=True, description="What the citizen typed")],
        responses=s.TopicHitSerializer(many=True),
    )
    def get(self, request, key):
        self.throttle("search")
        hits = search_topics(request.query_params.get("q", ""))
        return Response(s.TopicHitSerializer(hits, many=True).data)


class TopicOrientation(WidgetAPIView):
    @extend_schema(
        summary="A topic's answer: article, questions and competent interlocutor (recorded as an orientation)",
        parameters=[OpenApiParameter("cp", str, description="The citizen's postcode, to choose by territory")],
        responses=s.OrientationSerializer,
    )
    def get(self, request, key, owner, slug):
        self.throttle("search")
        topic = topic_for(self.portal.organisation, slug, owner)
        if topic is None:
            raise NotFound(_("This subject does not exist."))
        postcode = request.query_params.get("cp", "").strip()
        if postcode and not (len(postcode) == 5 and postcode.isdigit()):
            raise ValidationError({"cp": [_("Enter a postcode of 5 digits, e.g. 99100.")]})
        answer = answer_for(self.portal.organisation, topic, postcode)
        orientation = None
        if answer.service is not None and not answer.needs_narrowing:
            orientation = self._orientation_once(answer, postcode)
        data = {
            "topic": f"{topic.organisation.slug}/{topic.slug}",
            "title": topic.title,
            "article_html": answer.article_html,
            "questions": [{"text": q.text, "choices": choices} for q, choices in answer.questions],
            "service": answer.service,
            "elsewhere": answer.elsewhere,
            "orientation": orientation_token(orientation) if orientation else None,
        }
        return Response(s.OrientationSerializer(data).data)

    def _orientation_once(self, answer, postcode):
        """An answer shown again to the same client within the hour is the
        same orientation (the indicator counts citizens, not page views)."""
        from django.core.cache import cache

        client = ratelimit.client_ip(self.request._request)
        key = f"orientation:{self.portal.widget.pk}:{answer.topic.pk}:{postcode}:{client}"
        known = cache.get(key)
        if known is None:
            known = record_orientation(
                self.portal.organisation, answer, channel="api", widget=self.portal.widget, postcode=postcode
            ).pk
            cache.set(key, known, 3600)
        return known


def _form_data(request, fields):
    data = {}
    for name in fields:
        value = request.data.get(name)
        if value is None:
            continue
        data[name] = "on" if value is True else ("" if value is False else value)
    return data


def _form_errors(form):
    """The form's errors as the API reports them: {field: [messages]}."""
    return {field: [error["message"] for error in errors] for field, errors in form.errors.get_json_data().items()}


def _topic(portal, value):
    if not value:
        return None
    if "/" not in value:
        raise ValidationError({"topic": [_('Give the topic as "organisation/slug".')]})
    owner, slug = value.split("/", 1)
    topic = topic_for(portal.organisation, slug, owner)
    if topic is None:
        raise ValidationError({"topic": [_("This subject does not exist.")]})
    return topic


def _receipt(ticket, created):
    return {
        "reference": ticket.reference,
        "followup_url": followup_url(ticket),
        "expected_answer_by": ticket.due_at,
        "created": created,
    }


class RequestCreate(WidgetAPIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        summary="Send a citizen's request: a ticket, acknowledged by email or SMS",
        request={"application/json": s.RequestSerializer, "multipart/form-data": s.RequestSerializer},
        responses={201: s.ReceiptSerializer, 200: s.ReceiptSerializer},
    )
    def post(self, request, key):
        self.throttle("submit")
        shape = s.RequestSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        fields = ["name", "email", "phone", "postcode", "message", "sms_consent", "preferred_channel"]
        data = _form_data(request, fields)
        data.setdefault(
            "preferred_channel", "email" if data.get("email") else "sms" if data.get("sms_consent") else "phone"
        )
        data["submission"] = "api"
        form = ContactForm(data, {"attachments": request.FILES.getlist("attachments")} if request.FILES else None)
        if not form.is_valid():
            raise ValidationError(_form_errors(form))
        topic = _topic(self.portal, shape.validated_data.get("topic"))
        clean = form.cleaned_data
        if not ratelimit.allow_contact("submit", clean["email"] or clean["phone"]):
            raise Throttled(detail=_("You have sent many requests recently; try again later."))
        try:
            ticket, created = submit_request(
                self.portal,
                Request.from_form(
                    clean,
                    topic=topic,
                    orientation_id=shape.validated_data.get("orientation"),
                    origin=request.headers.get("Origin", ""),
                ),
                f"api:{self.portal.widget.pk}:{shape.validated_data['submission_id']}",
            )
        except SubmissionRefused as error:
            raise ValidationError({"submission_id": [str(error)]}) from error
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(s.ReceiptSerializer(_receipt(ticket, created)).data, status=code)


class CallbackCreate(WidgetAPIView):
    @extend_schema(
        summary="Ask to be called back: a ticket of channel phone",
        request=s.CallbackSerializer,
        responses={201: s.ReceiptSerializer, 200: s.ReceiptSerializer},
    )
    def post(self, request, key):
        self.throttle("submit")
        shape = s.CallbackSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = _form_data(request, ["name", "phone", "postcode", "message"])
        data["slots"] = shape.validated_data["slots"]
        data["submission"] = "api"
        form = CallbackForm(data)
        if not form.is_valid():
            raise ValidationError(_form_errors(form))
        topic = _topic(self.portal, shape.validated_data.get("topic"))
        clean = form.cleaned_data
        if not ratelimit.allow_contact("submit", clean["phone"]):
            raise Throttled(detail=_("You have sent many requests recently; try again later."))
        try:
            ticket, created = request_callback(
                self.portal,
                Request.from_form(
                    clean,
                    topic=topic,
                    orientation_id=shape.validated_data.get("orientation"),
                    origin=request.headers.get("Origin", ""),
                ),
                clean["slots"],
                f"api-callback:{self.portal.widget.pk}:{shape.validated_data['submission_id']}",
            )
        except SubmissionRefused as error:
            raise ValidationError({"submission_id": [str(error)]}) from error
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(s.ReceiptSerializer(_receipt(ticket, created)).data, status=code)
