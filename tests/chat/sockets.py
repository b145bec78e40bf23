"""A citizen's websocket to the chat, for the tests."""

import json

from websockets.sync.client import connect

SITE = "https://www.commune.example"


def citizen(url, widget, origin=SITE):
    return connect(url.replace("http://", "ws://") + f"/ws/chat/w/{widget.key}/", origin=origin, open_timeout=30)


def receive(socket, timeout=20):
    return json.loads(socket.recv(timeout=timeout))


def receive_until(socket, predicate, timeout=20):
    while True:
        event = receive(socket, timeout)
        if predicate(event):
            return event
