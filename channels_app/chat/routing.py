from channels.auth import AuthMiddlewareStack
from django.urls import path

from channels_app.chat import consumers

citizen_patterns = [
    path("ws/chat/org/<slug:organisation>/", consumers.CitizenChat.as_asgi()),
    path("ws/chat/w/<str:key>/", consumers.CitizenChat.as_asgi()),
]
agent_patterns = [
    path("ws/chat/agent/<int:pk>/", AuthMiddlewareStack(consumers.AgentChat.as_asgi())),
]
