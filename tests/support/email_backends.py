"""Email backends standing in for an ESP at the internet boundary."""

import requests
from anymail.exceptions import AnymailRequestsAPIError
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class ScriptedBackend(LocmemBackend):
    """Answers each send with the next scripted outcome: an HTTP status from
    the provider (>= 400 raises as anymail does), then succeeds like locmem."""

    script: list[int] = []
    calls = 0

    def send_messages(self, messages):
        type(self).calls += 1
        if type(self).script:
            status = type(self).script.pop(0)
            if status >= 400:
                response = requests.Response()
                response.status_code = status
                response.reason = "Scripted"
                response._content = b'{"message": "scripted provider error"}'
                raise AnymailRequestsAPIError(f"provider answered {status}", status_code=status, response=response)
        return super().send_messages(messages)
