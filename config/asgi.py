import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from channels_app.routing import public_websocket_urlpatterns, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(
            [
                # The citizens' chat, embedded in other sites: its consumer
                # checks the Origin against the widget's allowed origins.
                *public_websocket_urlpatterns,
                re_path(r"^", AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns))),
            ]
        ),
    }
)

from config import memory  # noqa: E402

memory.enable()  # after loading: Django and the project out of the collector's sight
