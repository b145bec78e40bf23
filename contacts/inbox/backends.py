"""Login throttling with django-axes."""

from axes.backends import AxesStandaloneBackend


class ThrottledBackend(AxesStandaloneBackend):
    """django-axes' lockout check for every login attempt made through a
    request (the agents' login page, the admin's, the API's basic auth).

    ``authenticate()`` called without a request (management commands, the
    test client's ``login()``) comes from code on the server, not from
    someone guessing passwords: it is not throttled, where django-axes would
    refuse it outright."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
