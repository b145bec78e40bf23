"""The chat's websockets: thin, over channels_app.chat.services.

Citizen: ``/ws/chat/<widget key>/`` (or ``/ws/chat/org/<slug>/`` on the
organisation's own pages), from the widget's allowed origins. Messages in:
hello {token, last_seq}, message {client_id, text}, choose {topic},
agent {name, email, phone}, typing, read {seq}, close. Out: conversation
{token}, entry {seq, author, text, data, client_id}, typing, read, error.

Agent: ``/ws/chat/agent/<conversation id>/``, logged in, for a conversation
whose ticket they may see: accept, message {text}, typing, read.
"""

import json
import time

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _

from channels_app.chat import services
from channels_app.models import Conversation
from channels_app.portal import ratelimit
from contacts.second_factor import websocket_allowed


def _origin(scope):
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return value.decode("latin-1")
    return ""


def _own_origins(scope):
    host = ""
    for name, value in scope.get("headers", []):
        if name == b"host":
            host = value.decode("latin-1")
    return {f"http://{host}", f"https://{host}"}


MAX_FRAME = 16_000  # characters of one frame (a message is at most 4,000)
BURST = 10  # frames a client may send in a row...
REFILL_PER_SECOND = 2.0  # ...then this many per second


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """What both sides share: frames that are too large, not JSON, or too
    many are refused with a clear close code, never a server error; typing
    and read marks are relayed; every event of the conversation's group is
    pushed. Subclasses answer their own requests in ``handle``."""

    author = ""
    conversation = None

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None or len(text_data) > MAX_FRAME:
            await self.refuse(_("The message is too long."), 4413)
        if not self._take_token():
            await self.refuse(_("Too many messages; slow down."), 4429)
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.refuse(_("Unknown request."), 4400)
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind in ("typing", "read") and self.conversation is not None:
                event = {"type": kind, "by": self.author, "seq": content.get("seq")}
                await self.channel_layer.group_send(self.conversation.group, {"type": "chat.event", "event": event})
            elif not await self.handle(kind, content):
                await self.send_json({"type": "error", "message": _("Unknown request.")})
        except services.ChatError as error:
            await self.send_json({"type": "error", "message": str(error), "client_id": content.get("client_id")})
        except (TypeError, ValueError):  # a value of the wrong type from the client
            await self.send_json({"type": "error", "message": _("Unknown request.")})

    async def handle(self, kind, content):
        """Answer one request; False when it is unknown (each side answers its own)."""
        return False

    async def replay(self, content):
        """Send what the client has not seen, after its ``last_seq``."""
        last = int(content.get("last_seq") or 0)
        for entry in await database_sync_to_async(services.entries_after)(self.conversation, last):
            await self.send_json(entry.as_event())

    async def chat_event(self, message):
        await self.send_json(message["event"])

    async def disconnect(self, code):
        if self.conversation is not None:
            await self.channel_layer.group_discard(self.conversation.group, self.channel_name)

    async def close(self, code=None, reason=None):
        """Close, and hear no more of the conversation's group (what is pushed
        meanwhile is stored: a reconnecting client gets it)."""
        self._closing = True
        if self.conversation is not None:
            await self.channel_layer.group_discard(self.conversation.group, self.channel_name)
        await super().close(code=code, reason=reason)

    async def refuse(self, message, code):
        """Say why, close with ``code``, and read no more frames."""
        await self.send_json({"type": "error", "message": message})
        await self.close(code=code)
        raise StopConsumer()

    async def send_json(self, content, close=False):
        if getattr(self, "_closing", False):
            return
        await super().send_json(content, close=close)

    def _take_token(self):
        now = time.monotonic()
        tokens, last = getattr(self, "_bucket", (BURST, now))
        tokens = min(BURST, tokens + (now - last) * REFILL_PER_SECOND)
        if tokens < 1:
            self._bucket = (tokens, now)
            return False
        self._bucket = (tokens - 1, now)
        return True


class CitizenChat(ChatConsumer):
    author = "citizen"

    async def connect(self):
        kwargs = self.scope["url_route"]["kwargs"]
        self.portal = await database_sync_to_async(self._portal)(kwargs.get("key"), kwargs.get("organisation"))
        origin = _origin(self.scope)
        allowed = origin in _own_origins(self.scope) or (
            self.portal is not None and self.portal.widget is not None and self.portal.widget.allows(origin)
        )
        if self.portal is None or not allowed:
            await self.close(code=4403)
            return
        await self.accept()

    @staticmethod
    def _portal(key, organisation):
        from channels_app.portal.site import portal_for

        try:
            return portal_for(organisation_slug=organisation, widget_key=key)
        except Http404:
            return None

    async def handle(self, kind, content):
        if kind == "hello":
            await self.hello(content)
            return True
        if self.conversation is None:
            await self.send_json({"type": "error", "message": _("Say hello first.")})
            return True
        conversation = self.conversation
        actions = {
            "message": lambda: services.citizen_says(
                conversation, str(content.get("client_id", "")), str(content.get("text", ""))
            ),
            "choose": lambda: services.choose(conversation, str(content.get("topic", ""))),
            "agent": lambda: services.hand_over(
                conversation, str(content.get("name", "")), str(content.get("email", "")), str(content.get("phone", ""))
            ),
            "close": lambda: services.close(conversation),
            "transcript": lambda: services.send_transcript(conversation, str(content.get("email", ""))),
            "rate": lambda: services.rate(
                conversation,
                content.get("score") if isinstance(content.get("score"), int) else 0,
                str(content.get("comment", "")),
            ),
        }
        if kind not in actions:
            return False
        await database_sync_to_async(actions[kind])()
        return True

    async def hello(self, content):
        token = str(content.get("token") or "")
        conversation = None
        if token:
            conversation = await database_sync_to_async(services.conversation_from_token)(
                token, self.portal.organisation
            )
        if conversation is None:
            client = (self.scope.get("client") or ("",))[0]
            limit, window = settings.PUBLIC_RATE_LIMITS["chat"]
            if not ratelimit.hit("chat:ip", client, limit, window):
                await self.refuse(_("Too many conversations from your connection; try again later."), 4429)
            conversation = await database_sync_to_async(services.start)(self.portal.organisation, self.portal.widget)
        self.conversation = conversation
        await self.channel_layer.group_add(conversation.group, self.channel_name)
        await self.send_json(
            {"type": "conversation", "token": services.token_for(conversation), "status": conversation.status}
        )
        await self.replay(content)


class AgentChat(ChatConsumer):
    author = "agent"

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        if not await database_sync_to_async(websocket_allowed)(self.scope):
            await self.close(code=4403)
            return
        pk = self.scope["url_route"]["kwargs"]["pk"]
        self.conversation = await database_sync_to_async(self._visible)(user, pk)
        if self.conversation is None:
            await self.close(code=4404)
            return
        self.user = user
        await self.channel_layer.group_add(self.conversation.group, self.channel_name)
        await self.accept()

    @staticmethod
    def _visible(user, pk):
        from contacts.models import Ticket

        visible = Ticket.objects.visible_to(user)
        return Conversation.objects.filter(pk=pk, ticket__in=visible).select_related("ticket").first()

    async def handle(self, kind, content):
        if kind == "hello":
            await self.replay(content)
        elif kind == "accept":
            await database_sync_to_async(services.accept)(self.conversation, self.user)
        elif kind == "message":
            await database_sync_to_async(services.agent_says)(
                self.conversation, self.user, str(content.get("text", ""))
            )
        else:
            return False
        return True
