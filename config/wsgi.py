import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from config import memory  # noqa: E402

memory.enable()  # after loading: Django and the project out of the collector's sight
