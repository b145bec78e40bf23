import pytest

from tests.inbox.world import build_world


@pytest.fixture
def fast_passwords(settings):
    """Agents' passwords hashed cheaply: these tests are not about hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db, fast_passwords):
    return build_world()


@pytest.fixture
def login(client):
    def log_in(user):
        client.force_login(user)
        return client

    return log_in
