"""WebSocket routes.

``websocket_urlpatterns`` are for this site's own pages (agents): the ASGI
application accepts them only from our hosts. ``public_websocket_urlpatterns``
are the citizens' chat, embedded in other sites: its consumer checks the
Origin against the widget's allowed origins itself.
"""

from channels_app.chat.routing import agent_patterns, citizen_patterns
from contacts.inbox.routing import websocket_urlpatterns as inbox_patterns

websocket_urlpatterns = [
    *inbox_patterns,
    *agent_patterns,
]
public_websocket_urlpatterns = [*citizen_patterns]
