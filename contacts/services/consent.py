"""A citizen's consent (RGPD): the one function that changes it.

``Contact.sms_consent`` (with ``sms_consent_at``) is the current state, read
wherever a decision depends on it; every change goes through
``change_consent``, which writes the new state and, in the same transaction,
an append-only ``ConsentRecord`` saying when, which way, how (form checkbox,
SMS, STOP, an agent on the phone, the administration, erasure) and in which
words. The records are the proof; they are exported with the citizen's data
and lose their evidence text when the contact is anonymised.
"""

from django.db import transaction
from django.utils import timezone

from contacts.models import ConsentRecord, Contact


class ConsentError(ValueError):
    """A consent change that cannot be recorded; the text says what is wrong."""


# The contact's fields holding the current state, per kind of consent.
STATE_FIELDS = {ConsentRecord.Kind.SMS: ("sms_consent", "sms_consent_at")}
EVIDENCE_MAX = 2000


def change_consent(contact, *, given, source, evidence="", kind=ConsentRecord.Kind.SMS, actor=None, at=None):
    """Set the contact's consent of ``kind`` to ``given`` and record it.

    Nothing is written when the state is already ``given`` and was recorded
    before (a citizen ticking the box again changes nothing). Returns the new
    ConsentRecord, or None when nothing changed. Raises ConsentError, before
    writing anything, on an unknown kind or source, a non-boolean ``given``
    or an unsaved contact.
    """
    if kind not in ConsentRecord.Kind.values:
        raise ConsentError(f"kind: unknown kind of consent {kind!r} (one of {', '.join(ConsentRecord.Kind.values)})")
    if source not in ConsentRecord.Source.values:
        raise ConsentError(f"source: unknown source {source!r} (one of {', '.join(ConsentRecord.Source.values)})")
    if not isinstance(given, bool):
        raise ConsentError(f"given: expected True or False, got {given!r}")
    if contact.pk is None:
        raise ConsentError("contact: save the contact before recording its consent")
    state, state_at = STATE_FIELDS[ConsentRecord.Kind(kind)]
    if getattr(contact, state) == given and getattr(contact, state_at) is not None:
        return None
    at = at or timezone.now()
    with transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(**{state: given, state_at: at})
        record = ConsentRecord.objects.create(
            contact=contact,
            kind=kind,
            given=given,
            source=source,
            evidence=(evidence or "")[:EVIDENCE_MAX],
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            at=at,
        )
    setattr(contact, state, given)
    setattr(contact, state_at, at)
    return record
