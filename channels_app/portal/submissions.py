"""What the contact form and the callback request do once their input is
valid: one ticket through ``ingest()`` (which routes and acknowledges it),
and beside it what only the form knows, in the same transaction."""

import re
from dataclasses import dataclass, field

from django.core import signing
from django.db import transaction
from django.utils.translation import gettext as _

from channels_app.models import CallbackRequest, FormSubmission
from channels_app.portal.forms import SMS_CONSENT_WORDING
from channels_app.portal.orientation import link_orientation
from contacts.channels import Channel
from contacts.inbound import InboundAttachment, InboundMessage
from contacts.models import ConsentRecord, normalise_email, normalise_phone
from contacts.services import ingest
from contacts.services.ingest import REFERENCE_RE

SUBMISSION_SALT = "form-submission"
SUBJECT_WORDS = 12


class SubmissionRefused(Exception):
    """The submission cannot be taken; the text says why, in French."""


@dataclass
class Request:
    name: str
    message: str
    email: str = ""
    phone: str = ""
    postcode: str = ""
    topic: object = None  # kb.Topic chosen on the guided path
    sms_consent: bool = False
    preferred_channel: str = FormSubmission.Answer.EMAIL
    attachments: list = field(default_factory=list)  # uploads.CheckedFile
    orientation_id: int | None = None
    origin: str = ""

    @classmethod
    def from_form(cls, cleaned, *, topic, orientation_id=None, origin=""):
        """The request a public form's cleaned data describes."""
        return cls(
            name=cleaned["name"],
            message=cleaned.get("message") or "",
            email=cleaned.get("email") or "",
            phone=cleaned.get("phone") or "",
            postcode=cleaned.get("postcode") or "",
            topic=topic,
            sms_consent=bool(cleaned.get("sms_consent")),
            preferred_channel=cleaned.get("preferred_channel") or FormSubmission.Answer.EMAIL,
            attachments=cleaned.get("attachments") or [],
            orientation_id=orientation_id,
            origin=origin,
        )


def new_submission_token():
    """A token the form carries, so that posting it twice (a double click, a
    retry) makes one ticket. Signed: nobody can replay another's."""
    import uuid

    return signing.dumps(uuid.uuid4().hex, salt=SUBMISSION_SALT)


def read_submission_token(token):
    try:
        value = signing.loads(token or "", salt=SUBMISSION_SALT, max_age=60 * 60 * 24)
    except signing.BadSignature as error:
        raise SubmissionRefused(_("This form has expired; please send it again.")) from error
    return str(value)


def _subject(request):
    """The ticket's subject. The contact form always opens a new ticket: no
    bracketed reference may thread it onto an existing one (the sender's
    address is not verified)."""
    if request.topic is not None:
        return request.topic.title[:300]
    subject = " ".join(request.message.split()[:SUBJECT_WORDS])
    return re.sub(REFERENCE_RE.pattern, "…", subject, flags=re.IGNORECASE)[:300]


def _same_sender(ticket, request):
    contact = ticket.contact
    return (request.email and contact.email == normalise_email(request.email)) or (
        request.phone and contact.phone == normalise_phone(request.phone)
    )


def _ingest(portal, inbound, request):
    result = ingest(inbound)
    if result.outcome == "duplicate" and not _same_sender(result.ticket, request):
        raise SubmissionRefused(_("This form was already sent; please start again."))
    if result.outcome not in ("created", "duplicate"):
        # Never hand out a link to a ticket this submission did not open.
        raise SubmissionRefused(_("Your request could not be sent."))
    return result


def submit_request(portal, request, submission_id):
    """The citizen's written request: a ticket of channel ``form``. Sending the
    same submission twice returns the same ticket. Returns (ticket, created)."""
    inbound = InboundMessage(
        channel=Channel.FORM,
        external_id=f"form:{submission_id}",
        organisation=portal.organisation,
        sender_email=request.email,
        sender_phone=request.phone,
        sender_name=request.name,
        postcode=request.postcode,
        subject=_subject(request),
        text=request.message,
        attachments=[InboundAttachment(f.filename, f.content_type, f.content) for f in request.attachments],
        sms_consent=request.sms_consent or None,
        sms_consent_source=ConsentRecord.Source.FORM,
        sms_consent_evidence=str(SMS_CONSENT_WORDING),
        topic=request.topic.pk if request.topic is not None else None,
    )
    with transaction.atomic():
        result = _ingest(portal, inbound, request)
        ticket = result.ticket
        if result.outcome == "created":
            FormSubmission.objects.create(
                ticket=ticket,
                preferred_channel=request.preferred_channel,
                widget=portal.widget,
                origin=request.origin[:300],
            )
            link_orientation(request.orientation_id, portal.organisation, ticket)
    return ticket, result.outcome == "created"


def request_callback(portal, request, slots, submission_id):
    """The citizen asked to be called back: a ticket of channel ``phone`` in
    the competent service's queue, with the time slots. Returns (ticket, created)."""
    labels = dict(CallbackRequest.Slot.choices)
    phone = normalise_phone(request.phone)
    lines = [
        _("Callback requested at %(phone)s.") % {"phone": phone},
        _("Time slots: %(slots)s.") % {"slots": ", ".join(str(labels[slot]) for slot in slots)},
    ]
    if request.message:
        lines += ["", request.message]
    inbound = InboundMessage(
        channel=Channel.PHONE,
        external_id=f"callback:{submission_id}",
        organisation=portal.organisation,
        sender_phone=phone,
        sender_email=request.email,
        sender_name=request.name,
        postcode=request.postcode,
        subject=(_("Callback: %(subject)s") % {"subject": _subject(request)})[:300]
        if request.topic is not None
        else _("Callback request"),
        text="\n".join(lines),
        sms_consent=request.sms_consent or None,
        sms_consent_source=ConsentRecord.Source.FORM,
        sms_consent_evidence=str(SMS_CONSENT_WORDING),
        topic=request.topic.pk if request.topic is not None else None,
    )
    with transaction.atomic():
        result = _ingest(portal, inbound, request)
        ticket = result.ticket
        if result.outcome == "created":
            CallbackRequest.objects.create(ticket=ticket, phone=phone, slots=list(slots))
            FormSubmission.objects.create(
                ticket=ticket,
                preferred_channel=FormSubmission.Answer.PHONE,
                widget=portal.widget,
                origin=request.origin[:300],
            )
            link_orientation(request.orientation_id, portal.organisation, ticket)
    return ticket, result.outcome == "created"
