"""The agents' side of the chat in the inbox: take a waiting conversation.
Answers go through the ticket's composer on the chat channel."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from channels_app.chat import services
from channels_app.models import Conversation
from contacts.inbox.access import agent_required, visible_ticket


@require_POST
@agent_required
def accept(request, reference):
    ticket = visible_ticket(request, reference)  # 404 when the agent may not see it
    conversation = Conversation.objects.filter(ticket=ticket).first()
    if conversation is None:
        messages.error(request, _("This request has no chat conversation."))
    else:
        try:
            services.accept(conversation, request.user)
        except services.ChatError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("You answer this conversation: choose “Chat” in the composer."))
    return redirect("inbox:ticket", reference=ticket.reference)
