"""WebSocket routes; the chat issue adds its consumers here."""

from contacts.inbox.routing import websocket_urlpatterns as inbox_patterns

websocket_urlpatterns = [*inbox_patterns]
