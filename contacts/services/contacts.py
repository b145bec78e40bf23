"""Finding the citizen an inbound message comes from."""

from django.utils import timezone

from contacts.models import Contact, normalise_email, normalise_phone
from contacts.services import rows


def match_contact(organisation, *, email="", phone="", name="", postcode="", sms_consent=None):
    """The organisation's contact with this email (first) or phone, created
    when there is none, with blanks filled in from what the message tells.

    Raises ValueError when the phone number is malformed.
    """
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
        if sms_consent is not None:
            contact.set_sms_consent(sms_consent, timezone.now())
        rows.insert(contact)  # a concurrent creation raises IntegrityError: ingest tries again
        return contact
    contact.organisation = organisation

    changed = False
    for field, value in (("email", email), ("phone", phone), ("name", name), ("postcode", postcode)):
        if value and not getattr(contact, field) and not _taken(organisation, field, value, contact):
            setattr(contact, field, value)
            changed = True
    if sms_consent is not None and sms_consent != contact.sms_consent:
        contact.set_sms_consent(sms_consent)
        changed = True
    if changed:
        contact.save()
    return contact


def _taken(organisation, field, value, contact):
    if field not in ("email", "phone"):
        return False
    return Contact.objects.filter(organisation=organisation, **{field: value}).exclude(pk=contact.pk).exists()
