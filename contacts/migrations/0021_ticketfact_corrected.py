"""The facts of the tickets with a transfer or topic correction: the
indicators' tables of those read their events through it. The facts are
derived data written by one refresh at a time, so a plain CREATE INDEX."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0020_ticketevent_moves"),
        ("kb", "0003_revision_sequence"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticketfact",
            index=models.Index(
                condition=models.Q(("corrected", True)),
                fields=["organisation", "day"],
                include=("channel", "service", "topic"),
                name="ticketfact_corrected",
            ),
        ),
    ]
