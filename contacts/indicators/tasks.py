"""Celery tasks of the indicators (registered by CELERY_IMPORTS)."""

from celery import shared_task

from contacts.indicators.weekly import send_weekly_summaries


@shared_task(name="contacts.indicators.tasks.send_weekly_summaries")
def send_weekly_summaries_task():
    return send_weekly_summaries()


@shared_task(name="contacts.indicators.tasks.refresh_aggregates")
def refresh_aggregates_task():
    from contacts.indicators.aggregates import refresh

    return refresh()
