"""The partial index of the indicators' transfer and correction tables
(the events of those kinds), built CONCURRENTLY on PostgreSQL like 0014."""

from django.db import migrations, models

INDEX = models.Index(
    condition=models.Q(("kind__in", ["transferred", "corrected"])),
    fields=["ticket"],
    name="ticketevent_moves",
)


def _options(schema_editor):
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def add(apps, schema_editor):
    schema_editor.add_index(apps.get_model("contacts", "TicketEvent"), INDEX, **_options(schema_editor))


def remove(apps, schema_editor):
    schema_editor.remove_index(apps.get_model("contacts", "TicketEvent"), INDEX, **_options(schema_editor))


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [("contacts", "0019_ticket_backlog")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="ticketevent", index=INDEX)],
            database_operations=[migrations.RunPython(add, remove, elidable=False)],
        )
    ]
