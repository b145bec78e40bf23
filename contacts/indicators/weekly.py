"""The weekly summary emailed to managers: last week's main figures beside
the week before, with a chart of the requests received per day (PNG drawn
with Pillow), queued through the outbox once per manager and week."""

import base64
import datetime
import io

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont

from contacts.channels import Channel
from contacts.indicators.compute import Scope, compute
from contacts.indicators.filters import Filters
from contacts.models import AgentProfile, Outbox
from contacts.services.outbox import enqueue
from kb.models import Organisation

RECIPIENT_ROLES = [AgentProfile.Role.MANAGER, AgentProfile.Role.ADMINISTRATOR]
# (indicator, figure) shown in the summary, in this order.
HEADLINES = [
    ("volumes", "total"),
    ("times", "first_median"),
    ("times", "resolution_median"),
    ("sla", "compliance"),
    ("marianne", "within"),
    ("unanswered", "unanswered"),
    ("transfers", "once"),
    ("satisfaction", "average"),
    ("backlog", "open"),
]


def last_week(today):
    """Monday and Sunday of the last full week before ``today``."""
    monday = today - datetime.timedelta(days=today.weekday() + 7)
    return monday, monday + datetime.timedelta(days=6)


def recipients(organisation):
    """The organisation's managers and administrators who have an email address."""
    return [
        profile.user
        for profile in AgentProfile.objects.filter(
            organisation=organisation, role__in=RECIPIENT_ROLES, user__is_active=True
        )
        .exclude(user__email="")
        .select_related("user")
        .order_by("user_id")
    ]


def _figure_text(figure, value):
    if value is None:
        return "–"
    text = formats.localize(value)
    return f"{text} %" if figure.unit == "%" else (f"{text} {figure.unit}" if figure.unit else text)


def summary(user, organisation, start, end):
    """The lines of the summary and the volumes by day of both weeks."""
    filters = Filters(start, end, organisation.tzinfo, organisation)
    scope = Scope(user, filters)
    indicators = {}
    lines = []
    for key, figure_key in HEADLINES:
        if key not in indicators:
            indicators[key] = compute(scope, key)
        figure = next(f for f in indicators[key].figures if f.key == figure_key)
        lines.append(
            {
                "label": str(figure.label),
                "value": _figure_text(figure, figure.value),
                "previous": _figure_text(figure, figure.previous) if indicators[key].compare else "",
                "trend": figure.trend,
            }
        )
    this_week = [row[1] for row in indicators["volumes"].table("day").rows]
    previous_week = [row[1] for row in compute(scope.previous(), "volumes", compare=False).table("day").rows]
    return lines, this_week, previous_week


def chart_png(title, days, this_week, previous_week):
    """Grouped bars: requests per day, last week (blue) beside the week before (grey)."""
    width, height, left, bottom, top = 640, 300, 50, 40, 60
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=12)
    draw.text((left, 10), title, fill="#1e1e1e", font=font)
    draw.rectangle((left, 36, left + 12, 48), fill="#1d4f91")
    draw.text((left + 18, 34), _("Last week"), fill="#1e1e1e", font=small)
    draw.rectangle((left + 170, 36, left + 182, 48), fill="#a6a6a6")
    draw.text((left + 188, 34), _("The week before"), fill="#1e1e1e", font=small)
    top_value = max([*this_week, *previous_week, 1])
    area = height - bottom - top
    slot = (width - left - 20) / len(days)
    bar = slot * 0.35
    draw.line((left, height - bottom, width - 20, height - bottom), fill="#595959")
    for index, day in enumerate(days):
        x = left + index * slot + slot * 0.12
        for offset, value, colour in ((0, previous_week[index], "#a6a6a6"), (bar, this_week[index], "#1d4f91")):
            y = height - bottom - area * value / top_value
            if value:
                draw.rectangle((x + offset, y, x + offset + bar - 2, height - bottom), fill=colour)
            draw.text((x + offset + 2, y - 15), str(value), fill="#1e1e1e", font=small)
        draw.text((x, height - bottom + 8), day, fill="#1e1e1e", font=small)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def send_weekly_summaries(now=None):
    """Queue last week's summary to every manager and administrator (one
    outbox row per person and week: running twice sends nothing more)."""
    now = now or timezone.now()
    queued = 0
    with translation.override(settings.LANGUAGE_CODE):
        for organisation in Organisation.objects.order_by("pk"):
            people = recipients(organisation)
            if not people:
                continue
            start, end = last_week(now.astimezone(organisation.tzinfo).date())
            with timezone.override(organisation.tzinfo):
                for user in people:
                    queued += _send(user, organisation, start, end)
    return queued


def _send(user, organisation, start, end):
    key = f"weekly:{organisation.pk}:{user.pk}:{start.isoformat()}"
    if Outbox.objects.filter(idempotency_key=key).exists():
        return 0
    lines, this_week, previous_week = summary(user, organisation, start, end)
    days = [formats.date_format(start + datetime.timedelta(days=i), "D j") for i in range(7)]
    png = chart_png(_("Requests received per day"), days, this_week, previous_week)
    query = f"?du={start.isoformat()}&au={end.isoformat()}"
    context = {
        "user": user,
        "name": user.get_full_name() or user.username,
        "organisation": organisation,
        "start": formats.date_format(start, "j F Y"),
        "end": formats.date_format(end, "j F Y"),
        "lines": lines,
        "url": settings.PUBLIC_BASE_URL.rstrip("/") + reverse("indicators:dashboard") + query,
        "chart": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
    }
    payload = {
        "subject": _("Quality indicators, week of %(start)s") % {"start": context["start"]},
        "text": render_to_string("indicators/weekly_email.txt", context).strip(),
        "html": render_to_string("indicators/weekly_email.html", context),
    }
    with transaction.atomic():
        enqueue(Channel.EMAIL, user.email, payload, idempotency_key=key)
    return 1
