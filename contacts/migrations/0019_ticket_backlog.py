"""The covering index of the indicators' backlog (contacts/indicators/
compute.py backlog: the tickets open now, by age and status, and the
oldest), built CONCURRENTLY on PostgreSQL like 0014. Other databases: the
plain index (SQLite keeps no INCLUDE columns)."""

from django.db import migrations, models

INDEX = models.Index(
    condition=models.Q(("status__in", ["new", "open", "pending"])),
    fields=["organisation", "created_at"],
    include=("id", "status", "channel", "service", "topic", "assignee"),
    name="ticket_backlog",
)


def _options(schema_editor):
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def add(apps, schema_editor):
    schema_editor.add_index(apps.get_model("contacts", "Ticket"), INDEX, **_options(schema_editor))


def remove(apps, schema_editor):
    schema_editor.remove_index(apps.get_model("contacts", "Ticket"), INDEX, **_options(schema_editor))


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [("contacts", "0018_indicator_commitment_facts")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="ticket", index=INDEX)],
            database_operations=[migrations.RunPython(add, remove, elidable=False)],
        )
    ]
