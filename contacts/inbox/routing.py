from channels.auth import AuthMiddlewareStack
from django.urls import path

from contacts.inbox.consumers import InboxConsumer

websocket_urlpatterns = [
    path("ws/agents/", AuthMiddlewareStack(InboxConsumer.as_asgi())),
]
