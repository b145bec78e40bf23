"""The agents' websocket: live updates of the inbox and of a ticket page,
and who else is on the same ticket (collision warning)."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from contacts.inbox.live import organisation_group, ticket_group, user_group
from contacts.models import AgentProfile, Ticket
from contacts.second_factor import websocket_allowed


@database_sync_to_async
def _profile_of(user):
    profile = AgentProfile.objects.filter(user=user).only("organisation_id").first()
    return profile.organisation_id if profile else None


@database_sync_to_async
def _visible(user, **lookup):
    return (
        Ticket.objects.visible_to(user)
        .filter(**lookup)
        .values("pk", "reference", "subject", "status", "organisation_id")
        .first()
    )


@database_sync_to_async
def _visible_among(user, ids):
    rows = Ticket.objects.visible_to(user).filter(pk__in=ids).values("pk", "reference", "subject", "status")
    return {row["pk"]: row for row in rows}


def _ticket_message(ticket, change, user_id):
    return {
        "type": "ticket",
        "reference": ticket["reference"],
        "subject": ticket["subject"],
        "status": ticket["status"],
        "kind": change["kind"],
        "by_me": change.get("actor") == user_id,
    }


class InboxConsumer(AsyncJsonWebsocketConsumer):
    """Client messages: {"watch": REFERENCE} on a ticket page, {"typing":
    true} while writing. Server messages: {"type": "ticket", ...} when a
    visible ticket changed, {"type": "presence", ...} about colleagues on the
    watched ticket."""

    organisation_id = None
    watching = None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.organisation_id = await _profile_of(user)
        if self.organisation_id is None or not await database_sync_to_async(websocket_allowed)(self.scope):
            await self.close(code=4403)
            return
        self.user = user
        self.name = user.get_full_name() or user.username
        await self.channel_layer.group_add(organisation_group(self.organisation_id), self.channel_name)
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if self.organisation_id is not None:
            await self.channel_layer.group_discard(organisation_group(self.organisation_id), self.channel_name)
            await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)
        await self._leave()

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return
        if isinstance(content.get("watch"), str):
            await self._watch(content["watch"][:40])
        elif content.get("typing") and self.watching:
            await self._presence("presence.typing")

    async def _watch(self, reference):
        ticket = await _visible(self.user, reference=reference)
        if ticket is None:
            await self.send_json({"type": "error", "error": "not found"})
            return
        await self._leave()
        self.watching = ticket["pk"]
        await self.channel_layer.group_add(ticket_group(self.watching), self.channel_name)
        await self._presence("presence.hello")

    async def _leave(self):
        if self.watching is not None:
            await self._presence("presence.left")
            await self.channel_layer.group_discard(ticket_group(self.watching), self.channel_name)
            self.watching = None

    async def _presence(self, kind):
        await self.channel_layer.group_send(
            ticket_group(self.watching),
            {"type": kind, "user": self.user.pk, "name": self.name, "sender": self.channel_name},
        )

    # Group messages

    async def ticket_changed(self, message):
        ticket = await _visible(self.user, pk=message["ticket"])
        if ticket is None:  # not for this agent (sensitive topic, another service)
            return
        await self.send_json(_ticket_message(ticket, message, self.user.pk))

    async def tickets_changed(self, message):
        """Several changes gathered by the sender: one query for all."""
        changes = message["changes"]
        visible = await _visible_among(self.user, [change["ticket"] for change in changes])
        for change in changes:
            ticket = visible.get(change["ticket"])
            if ticket is not None:
                await self.send_json(_ticket_message(ticket, change, self.user.pk))

    async def mention_added(self, message):
        ticket = await _visible(self.user, pk=message["ticket"])
        if ticket is None:  # named in a note on a ticket this agent may not read
            return
        await self.send_json(
            {"type": "mention", "reference": ticket["reference"], "subject": ticket["subject"], "by": message["by"]}
        )

    async def _colleague(self, message, state):
        if message["sender"] == self.channel_name or message["user"] == self.user.pk:
            return False
        await self.send_json({"type": "presence", "state": state, "user": message["user"], "name": message["name"]})
        return True

    async def presence_hello(self, message):
        if await self._colleague(message, "viewing"):
            # Tell the newcomer who is already here.
            await self.channel_layer.send(
                message["sender"],
                {"type": "presence.here", "user": self.user.pk, "name": self.name, "sender": self.channel_name},
            )

    async def presence_here(self, message):
        await self._colleague(message, "viewing")

    async def presence_typing(self, message):
        await self._colleague(message, "typing")

    async def presence_left(self, message):
        await self._colleague(message, "left")
