"""Raw emails are personal data too: erased with their ticket's."""

from django.dispatch import receiver

from contacts.services.privacy import ticket_purged
from mail.models import RawMessage


@receiver(ticket_purged, dispatch_uid="mail.privacy.purge_raw_messages")
def purge_raw_messages(sender, ticket, **kwargs):
    # The SHA-256 stays: the same email delivered again is still recognised.
    RawMessage.objects.filter(ticket=ticket).update(compressed=b"", message_id="", reason="")
