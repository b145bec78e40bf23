"""Email ingestion: the full path (raw store, parse, thread, route, persist)
on PostgreSQL, beside the standard library's parse alone on the same files.

Usage: .venv/bin/python bench/mail_ingest.py [--files 5000]
Prints one JSON line.
"""

import argparse
import email
import random
import time
from email import policy

from common import ROOT, emit, fresh_database, percentile

CORPUS = ROOT.parent / "shared" / "mail-corpus"

SUBJECTS = [
    "Mon RSA n'a pas été versé",
    "Demande d'APA pour ma mère",
    "Route barrée à Vaudrenval",
    "Inscription au transport scolaire",
    "Question sur la carte mobilité inclusion",
]


def corpus_files():
    return sorted(
        path
        for path in CORPUS.rglob("*")
        if path.is_file() and "reply-fragments" not in path.parts and path.suffix != ".md"
    )


def generated(count, seed=11):
    rng = random.Random(seed)
    for n in range(count):
        subject = rng.choice(SUBJECTS)
        body = (
            f"Bonjour,\n\nJe vous écris au sujet de : {subject.lower()}.\n"
            f"Mon numéro de dossier est {rng.randrange(10**6)}.\n\nCordialement,\nCitoyen {n}\n"
        )
        quoted = "\n\nLe 3 mars 2026 à 10:00, Accueil <contact@cd99.example> a écrit :\n> Bonjour,\n> merci.\n" * (
            n % 2
        )
        yield (
            f"From: Citoyen {n} <citoyen{n % 1500}@citoyen.example>\r\n"
            "To: contact@bench.example\r\n"
            f"Subject: {subject}\r\n"
            f"Message-ID: <gen-{n}@citoyen.example>\r\n"
            "Date: Tue, 24 Nov 2026 10:00:00 +0100\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: text/plain; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: 8bit\r\n\r\n" + (body + quoted).replace("\n", "\r\n")
        ).encode("utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000)
    args = parser.parse_args()

    raws = [path.read_bytes() for path in corpus_files()]
    corpus_count = len(raws)
    raws.extend(generated(max(0, args.files - len(raws))))

    start = time.perf_counter()
    for raw in raws:
        email.message_from_bytes(raw, policy=policy.default)
    parse_s = time.perf_counter() - start

    fresh_database()
    from config.celery import app
    from kb.models import Organisation, Service
    from mail.models import Mailbox
    from mail.services import receive

    organisation = Organisation.objects.create(slug="bench", name="Bench", kind="departement")
    Service.objects.create(organisation=organisation, slug="accueil", name="Accueil", is_triage=True)
    mailbox = Mailbox.objects.create(organisation=organisation, address="contact@bench.example")

    latencies, outcomes = [], {}
    start = time.perf_counter()
    for raw in raws:
        t0 = time.perf_counter()
        result = receive(raw, organisation=organisation, mailbox=mailbox)
        latencies.append(time.perf_counter() - t0)
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    full_s = time.perf_counter() - start
    app.control.purge()

    full_rate = len(raws) / full_s
    parse_rate = len(raws) / parse_s
    emit(
        {
            "bench": "mail_ingest",
            "files": len(raws),
            "corpus_files": corpus_count,
            "outcomes": outcomes,
            "full_path": {
                "msgs_per_s": round(full_rate, 1),
                "p95_ms": round(percentile(latencies, 95) * 1000, 2),
                "max_ms": round(max(latencies) * 1000, 2),
            },
            "stdlib_parse_only": {"msgs_per_s": round(parse_rate, 1)},
            "ratio": round(full_rate / parse_rate, 3),
            "target_ratio": 0.5,
        }
    )


if __name__ == "__main__":
    main()
