"""Email import against django-helpdesk's ``get_email`` on the same files.

The files: the whole ``../shared/mail-corpus/`` tree plus generated citizen
messages (as ``bench/mail_ingest.py``), written once to a temporary folder
and read by both sides in the same order.

- django-helpdesk runs in a virtualenv of its own under /tmp (created on the
  first run with ``pip install django-helpdesk``; never in the project's
  requirements), in a minimal Django project on its own PostgreSQL database
  (``<BENCH_DATABASE>_helpdesk``). Each file goes through what its
  ``get_email`` command does for a local mailbox folder (read the file, then
  ``helpdesk.email.extract_email_metadata``), one file at a time so that a
  file it cannot read (it opens files as UTF-8 text) does not stop the rest.
  A file is kept when it gave a ticket or a follow-up.
- Ours: ``manage.py ingest_eml`` on the folder, on PostgreSQL. A file is
  lost when helpdesk kept it and we rejected it; robots, bounces and
  duplicates are stored raw with their reason and reported apart.

Usage: .venv/bin/python bench/helpdesk_compare.py [--files 1000]
Prints one JSON line: both rates, the ratio (target >= 3) and the files
helpdesk kept that we lost (target: none).
"""

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BENCH_DATABASE, PG, emit, fresh_database

HELPDESK_VERSION = "2.6.1"
VENV = Path(os.environ.get("HELPDESK_VENV", "/tmp/aiguillage-helpdesk-venv"))

HELPDESK_SETTINGS = """
import os
SECRET_KEY = "bench"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.staticfiles", "django.contrib.sites", "django.contrib.humanize",
    "rest_framework", "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True, "OPTIONS": {
    "context_processors": ["django.contrib.auth.context_processors.auth",
                           "django.contrib.messages.context_processors.messages",
                           "django.template.context_processors.request"]}}]
SITE_ID = 1
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": os.environ["HD_DB"],
                         "HOST": os.environ["HD_HOST"], "PORT": os.environ["HD_PORT"], "USER": os.environ["HD_USER"]}}
ROOT_URLCONF = "hdurls"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = os.environ["HD_MEDIA"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
HELPDESK_TEAMS_MODE_ENABLED = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "CRITICAL"}}
"""

HELPDESK_URLS = """
from django.urls import include, path
urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
"""

# What ``get_email`` does for each file of a local mailbox folder
# (helpdesk.email.process_queue), file by file, timed.
HELPDESK_RUN = """
import json, logging, sys, time
import django
django.setup()
from django.utils import encoding
from helpdesk.email import extract_email_metadata
from helpdesk.models import FollowUp, Queue, Ticket

logger = logging.getLogger("helpdesk")
queue = Queue.objects.create(title="Bench", slug="bench", email_box_type="local", allow_email_submission=True)
files = json.load(open(sys.argv[1]))
kept, failed = [], {}
start = time.perf_counter()
for path in files:
    try:
        with open(path, "r") as f:
            full_message = encoding.force_str(f.read(), errors="replace")
        if extract_email_metadata(message=full_message, queue=queue, logger=logger):
            kept.append(path)
    except Exception as exc:
        failed[path] = f"{type(exc).__name__}: {str(exc)[:200]}"
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "kept": kept, "failed": failed,
                  "tickets": Ticket.objects.count(), "followups": FollowUp.objects.count()}))
"""


def ensure_venv():
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import helpdesk, psycopg"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                f"django-helpdesk=={HELPDESK_VERSION}",
                "psycopg[binary]",
            ],
            check=True,
        )
    return python


def write_files(folder, count):
    """The benchmark's files, named in the order both sides read them."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mail_ingest import corpus_files, generated

    sys.path.pop(0)
    raws = [path.read_bytes() for path in corpus_files()]
    corpus = len(raws)
    raws.extend(generated(max(0, count - len(raws))))
    paths = []
    for index, raw in enumerate(raws):
        path = folder / f"{index:05d}.eml"
        path.write_bytes(raw)
        paths.append(path)
    return paths, corpus


def run_helpdesk(python, paths, work):
    import psycopg

    database = f"{BENCH_DATABASE}_helpdesk"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    project = work / "helpdesk_project"
    project.mkdir()
    (project / "hdsettings.py").write_text(HELPDESK_SETTINGS)
    (project / "hdurls.py").write_text(HELPDESK_URLS)
    (project / "run.py").write_text(HELPDESK_RUN)
    listing = work / "files.json"
    listing.write_text(json.dumps([str(p) for p in paths]))
    from urllib.parse import urlparse

    pg = urlparse(PG)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hdsettings",
        "PYTHONPATH": str(project),
        "HD_DB": database,
        "HD_HOST": pg.hostname or "127.0.0.1",
        "HD_PORT": str(pg.port or 5432),
        "HD_USER": pg.username or "postgres",
        "HD_MEDIA": str(work / "helpdesk_media"),
    }
    subprocess.run([str(python), "-m", "django", "migrate", "-v0"], env=env, check=True, cwd=project)
    done = subprocess.run(
        [str(python), str(project / "run.py"), str(listing)],
        env=env,
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_ours(folder, paths):
    fresh_database()
    from django.core.management import call_command

    from kb.models import Organisation, Service
    from mail.models import RawMessage

    organisation = Organisation.objects.create(slug="bench", name="Bench", kind="departement")
    Service.objects.create(organisation=organisation, slug="accueil", name="Accueil", is_triage=True)
    out = io.StringIO()
    start = time.perf_counter()
    call_command("ingest_eml", str(folder), organisation="bench", mailbox="contact@bench.example", stdout=out)
    elapsed = time.perf_counter() - start
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    status = dict(RawMessage.objects.values_list("sha256", "status"))
    # Not stored at all: its Message-ID was already processed (a duplicate).
    outcomes = {str(p): status.get(hashlib.sha256(p.read_bytes()).hexdigest(), "duplicate") for p in paths}
    return elapsed, summary, outcomes


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()

    python = ensure_venv()
    with tempfile.TemporaryDirectory(prefix="aiguillage-helpdesk-") as tmp:
        work = Path(tmp)
        folder = work / "files"
        folder.mkdir()
        paths, corpus = write_files(folder, args.files)
        theirs = run_helpdesk(python, paths, work)
        ours_s, summary, ours = run_ours(folder, paths)
        from config.celery import app

        app.control.purge()

    kept = set(theirs["kept"])
    lost = sorted(p for p in kept if ours[p] == "rejected")
    by_design = {}
    for path in kept:
        if ours[path] in ("auto_reply", "bounce", "duplicate"):
            by_design[ours[path]] = by_design.get(ours[path], 0) + 1
    ours_rate = len(paths) / ours_s
    theirs_rate = len(paths) / theirs["seconds"]
    emit(
        {
            "bench": "helpdesk_compare",
            "files": len(paths),
            "corpus_files": corpus,
            "ours": {
                "msgs_per_s": round(ours_rate, 1),
                "kept": sum(1 for s in ours.values() if s in ("created", "threaded")),
                "rejected": len(summary["rejected"]),
            },
            "django_helpdesk": {
                "version": HELPDESK_VERSION,
                "msgs_per_s": round(theirs_rate, 1),
                "kept": len(kept),
                "failed": len(theirs["failed"]),
                "tickets": theirs["tickets"],
                "followups": theirs["followups"],
            },
            "ratio": round(ours_rate / theirs_rate, 2),
            "target_ratio": 3,
            "lost_that_helpdesk_kept": [{"file": Path(p).name, "ours": ours[p]} for p in lost],
            "helpdesk_kept_we_stored_without_ticket": by_design,
        }
    )


if __name__ == "__main__":
    main()
