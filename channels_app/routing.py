"""WebSocket routes; the chat issue adds its consumers here."""

websocket_urlpatterns = []
