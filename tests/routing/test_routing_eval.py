import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from contacts.models import Ticket
from kb.importer import import_files

DATASETS = settings.BASE_DIR.parent / "shared" / "datasets"


@pytest.mark.django_db
def test_routing_eval_prints_the_figures_and_creates_nothing(capsys):
    import_files([DATASETS / "cd99.yaml", DATASETS / "partners.yaml"])
    call_command("routing_eval", str(DATASETS / "cd99-messages.jsonl"), "--organisation", "cd99")
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    keys = ["n", "top1", "top3", "service_accuracy", "urgent_recall", "urgent_precision", "median_ms", "p95_ms"]
    assert list(summary)[:8] == keys
    assert summary["n"] == 220
    assert Ticket.objects.count() == 0
    print("ROUTING_EVAL", json.dumps(summary))
    # Floors of what this lexical router reaches today (0.659 / 0.85 / 0.75 / 0.798 / 1.0 / 0.857);
    # the targets for top1 (0.90) and service (0.93) are not reached: a regression fails here.
    assert summary["top1"] >= 0.64
    assert summary["top3"] >= 0.83
    assert summary["abstain_accuracy"] >= 0.74
    assert summary["service_accuracy"] >= 0.78
    assert summary["urgent_recall"] == 1.0
    assert summary["urgent_precision"] >= 0.80


@pytest.mark.django_db
def test_routing_eval_refuses_bad_input(tmp_path):
    import_files([DATASETS / "cd99.yaml", DATASETS / "partners.yaml"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok", "expected_topic": null}\nnot json\n')
    with pytest.raises(CommandError, match="bad.jsonl:2: not a labelled message"):
        call_command("routing_eval", str(bad), "--organisation", "cd99")
    with pytest.raises(CommandError, match="unknown organisation 'nope'"):
        call_command("routing_eval", str(bad), "--organisation", "nope")
