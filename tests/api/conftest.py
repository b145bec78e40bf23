import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.inbox.conftest import fast_passwords, world  # noqa: F401 (fixtures shared with the inbox's tests)


@pytest.fixture
def api():
    """A client authenticated by ``user``'s token (made on first use)."""

    def client_for(user):
        client = APIClient()
        token, _created = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for
