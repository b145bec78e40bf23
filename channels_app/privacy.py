"""What the citizen channels keep of a ticket, erased with it."""

from django.dispatch import receiver

from channels_app.models import CallbackRequest, ChatEntry, FormSubmission
from contacts.services.privacy import ticket_purged


@receiver(ticket_purged, dispatch_uid="channels_app.privacy.purge")
def purge(sender, ticket, **kwargs):
    ChatEntry.objects.filter(conversation__ticket=ticket).update(text="", data={}, client_id="")
    CallbackRequest.objects.filter(ticket=ticket).update(phone="")
    FormSubmission.objects.filter(ticket=ticket).update(origin="")
