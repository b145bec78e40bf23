"""Production mode passes Django's deployment checks."""

import subprocess
import sys

from django.conf import settings


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HTTPS": "1",
        "SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-characters-1234567890",
        "ALLOWED_HOSTS": "aiguillage.example",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING", "--tag", "security"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_https_mode_the_checks_name_what_is_missing(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-characters-1234567890",
        "ALLOWED_HOSTS": "aiguillage.example",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "security"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "security.W004" in result.stderr + result.stdout  # HSTS
