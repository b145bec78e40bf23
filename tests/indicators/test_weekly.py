"""The weekly summary: queued once per manager and week, their own
organisation's figures in French, with the chart as a PNG image."""

import base64
import io
import re

from django.conf import settings
from django.contrib.auth import get_user_model
from PIL import Image

from contacts.indicators.weekly import last_week, send_weekly_summaries
from contacts.models import Outbox
from tests.indicators.world import paris


def test_last_week():
    import datetime

    assert last_week(datetime.date(2026, 4, 8)) == (datetime.date(2026, 3, 30), datetime.date(2026, 4, 5))
    assert last_week(datetime.date(2026, 4, 6)) == (datetime.date(2026, 3, 30), datetime.date(2026, 4, 5))


def test_weekly_summary_to_managers(world):
    users = get_user_model().objects
    for name in ("mona", "olga", "alice"):
        users.filter(username=name).update(email=f"{name}@example.org")

    assert send_weekly_summaries(now=paris(8, 7)) == 2  # mona and olga; alice is an agent
    assert send_weekly_summaries(now=paris(8, 8)) == 0  # once per week
    rows = {row.recipient: row for row in Outbox.objects.filter(idempotency_key__startswith="weekly:")}
    assert set(rows) == {"mona@example.org", "olga@example.org"}

    mona = rows["mona@example.org"].payload
    assert mona["subject"] == "Indicateurs de qualité, semaine du 30 mars 2026"
    text = mona["text"]
    assert text.startswith("Bonjour Mona,")
    assert "Voici la semaine du 30 mars 2026 au 5 avril 2026 pour Département de démonstration" in text
    assert "- Demandes reçues : 6 (semaine précédente : 1)" in text
    assert "- Premières réponses dans le délai : 50,0 % (semaine précédente : 100,0 %)" in text
    assert "- Demandes en cours : 2\n" in text  # a state now: no previous week
    assert f"{settings.PUBLIC_BASE_URL}/indicateurs/?du=2026-03-30&au=2026-04-05" in text

    png = re.search(r'src="data:image/png;base64,([^"]+)"', mona["html"]).group(1)
    image = Image.open(io.BytesIO(base64.b64decode(png)))
    assert image.format == "PNG" and image.size == (640, 300)

    olga = rows["olga@example.org"].payload["text"]
    assert "Commune voisine" in olga and "- Demandes reçues : 1 (semaine précédente : 0)" in olga


def test_the_task_is_scheduled():
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["indicators-weekly"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
