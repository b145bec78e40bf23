"""Finding the citizen an inbound message comes from."""

from contacts.models import Contact, normalise_email, normalise_phone
from contacts.services import rows
from contacts.services.consent import ConsentError, change_consent


def match_contact(
    organisation,
    *,
    email="",
    phone="",
    name="",
    postcode="",
    sms_consent=None,
    consent_source="",
    consent_evidence="",
):
    """The organisation's contact with this email (first) or phone, created
    when there is none, with blanks filled in from what the message tells.
    ``sms_consent`` (None: the message says nothing) is recorded through
    ``change_consent`` with ``consent_source`` and ``consent_evidence``.

    Raises ValueError when the phone number is malformed, ConsentError (a
    ValueError) when a consent comes without a known source.
    """
    if sms_consent is not None and not consent_source:
        raise ConsentError("source: a consent must say how it was given")
    email = normalise_email(email)
    phone = normalise_phone(phone)
    contact = None
    # The contact's row stays locked to the end of the caller's transaction:
    # two messages of one citizen are ingested one after the other.
    if email:
        contact = rows.select_first(
            Contact, "organisation_id = %s AND email = %s", [organisation.pk, email], order_by="id", for_update=True
        )
    if contact is None and phone:
        contact = rows.select_first(
            Contact, "organisation_id = %s AND phone = %s", [organisation.pk, phone], order_by="id", for_update=True
        )
    if contact is None:
        contact = Contact(organisation=organisation, email=email, phone=phone, name=name, postcode=postcode)
        rows.insert(contact)  # a concurrent creation raises IntegrityError: ingest tries again
        if sms_consent is not None:
            change_consent(contact, given=sms_consent, source=consent_source, evidence=consent_evidence)
        return contact
    contact.organisation = organisation

    changed = False
    for field, value in (("email", email), ("phone", phone), ("name", name), ("postcode", postcode)):
        if value and not getattr(contact, field) and not _taken(organisation, field, value, contact):
            setattr(contact, field, value)
            changed = True
    if sms_consent is not None:
        change_consent(contact, given=sms_consent, source=consent_source, evidence=consent_evidence)
    if changed:
        contact.save()
    return contact


def _taken(organisation, field, value, contact):
    if field not in ("email", "phone"):
        return False
    return Contact.objects.filter(organisation=organisation, **{field: value}).exclude(pk=contact.pk).exists()
