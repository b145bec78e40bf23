import pytest

from tests.indicators.world import build_indicator_world


@pytest.fixture
def world(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_indicator_world()
