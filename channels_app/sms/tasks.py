from celery import shared_task


@shared_task(name="channels_app.sms.tasks.send_due_reminders")
def send_due_reminders():
    from contacts.services.notifications import send_due_reminders as send

    return send()
