"""Periodic routing work: SLA warnings before a breach, escalation after."""

from celery import shared_task
from django.utils import timezone


@shared_task(name="routing.tasks.check_sla")
def check_sla(now=None):
    """Every five minutes (beat): warn once before a breach, escalate once
    after it (see routing.sla.check_deadlines)."""
    from routing.sla import check_deadlines

    return check_deadlines(now or timezone.now())
