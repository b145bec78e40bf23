"""deploy/ and docs/deployment.md stay true to the code: every command a
unit starts exists and accepts its options, the proxy talks to the ports
the units listen on, and every environment variable the settings read is
documented."""

import configparser
import importlib
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(settings.BASE_DIR)
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
INSTALL = "/srv/aiguillage"
BIN = Path(sys.executable).parent
# Variables that processes read themselves (not config/settings.py).
PROCESS_VARIABLES = {"PROMETHEUS_MULTIPROC_DIR", "DJANGO_SETTINGS_MODULE"}


def unit(path):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser


def exec_start(path):
    """The command line of ExecStart, the installation path mapped to this
    checkout and systemd's %% unescaped."""
    words = shlex.split(unit(path)["Service"]["ExecStart"].replace("%%", "%"))
    program = Path(words[0])
    assert str(program).startswith(f"{INSTALL}/.venv/bin/"), f"{path.name}: runs {program} outside the venv"
    assert (BIN / program.name).exists(), f"{path.name}: {program.name} is not installed in the venv"
    return program.name, words[1:]


def test_there_is_a_unit_for_each_process():
    assert {path.name for path in UNITS} == {
        "aiguillage-web.service",
        "aiguillage-asgi.service",
        "aiguillage-worker.service",
        "aiguillage-beat.service",
        "aiguillage-mail.service",
    }


@pytest.mark.parametrize("path", UNITS, ids=lambda path: path.name)
def test_units_run_as_the_service_user_with_the_env_file(path):
    service = unit(path)["Service"]
    assert service["User"] == "aiguillage"
    assert service["WorkingDirectory"] == INSTALL
    assert service["EnvironmentFile"] == "/etc/aiguillage/aiguillage.env"
    # The directory PROMETHEUS_MULTIPROC_DIR names in the env file.
    assert service["RuntimeDirectory"] == "aiguillage-metrics"
    assert service["RuntimeDirectoryPreserve"] == "yes"


def _import(target):
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


@pytest.mark.parametrize("path", UNITS, ids=lambda path: path.name)
def test_each_exec_start_names_something_that_exists(path):
    program, args = exec_start(path)
    if program == "python":
        assert args[0] == "manage.py"
        assert args[1] in get_commands(), f"{path.name}: no management command {args[1]!r}"
    elif program == "gunicorn":
        # gunicorn parses the options and loads the application, then stops.
        result = subprocess.run(
            [str(BIN / "gunicorn"), "--check-config", *args], cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
    elif program == "uvicorn":
        command = importlib.import_module("uvicorn.main").main  # the click command
        context = command.make_context("uvicorn", list(args))  # refuses unknown options
        assert callable(_import(context.params["app"]))
    elif program == "celery":
        from celery.bin.base import CLIContext
        from celery.bin.celery import celery

        from config.celery import app

        assert args[:2] == ["-A", "config"]
        name, rest = args[2], args[3:]
        assert name in {"worker", "beat"}
        obj = CLIContext(app=app, no_color=True, workdir=None, quiet=True)
        celery.commands[name].make_context(name, list(rest), obj=obj)  # refuses unknown options
        if "--scheduler" in rest:
            assert _import(rest[rest.index("--scheduler") + 1])
    else:
        pytest.fail(f"{path.name}: no check for {program}")


def _ports(program):
    (path,) = [path for path in UNITS if exec_start(path)[0] == program]
    _, args = exec_start(path)
    if program == "gunicorn":
        return args[args.index("--bind") + 1]
    return f"{args[args.index('--host') + 1]}:{args[args.index('--port') + 1]}"


def test_nginx_proxies_to_the_addresses_the_units_listen_on_and_hides_media_and_metrics():
    site = (ROOT / "deploy" / "nginx" / "aiguillage.conf").read_text()
    upstreams = dict(re.findall(r"upstream (\w+) \{\s*server ([\d.:]+);", site))
    assert upstreams == {"aiguillage_web": _ports("gunicorn"), "aiguillage_asgi": _ports("uvicorn")}
    assert re.search(r"location /ws/ \{[^}]*proxy_pass http://aiguillage_asgi;", site)
    assert re.search(rf"location /static/ \{{\s*alias {settings.STATIC_ROOT}/;".replace(str(ROOT), INSTALL), site)
    assert re.search(r"location /media/ \{\s*return 404;", site)
    assert re.search(r"location = /metrics \{\s*deny all;", site)


def settings_variables():
    source = (ROOT / "config" / "settings.py").read_text()
    names = set(re.findall(r"""(?:environ\.get|environ\[|env_bool|env_list)\(?\s*["']([A-Z0-9_]+)["']""", source))
    assert {"SECRET_KEY", "HTTPS", "METRICS_TOKEN", "EMAIL_FILE_PATH"} <= names  # the pattern finds them
    return names | {"DATABASE_URL"}  # read by dj_database_url.config()


def test_every_variable_the_settings_read_is_documented():
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (ROOT / "docs" / "deployment.md").read_text()))
    missing = sorted(settings_variables() - documented)
    assert not missing, f"document these environment variables in docs/deployment.md: {', '.join(missing)}"


def test_the_env_file_example_sets_only_variables_that_are_read():
    example = (ROOT / "deploy" / "aiguillage.env.example").read_text()
    names = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    unknown = {name for name in names - settings_variables() - PROCESS_VARIABLES if not name.startswith("ANYMAIL_")}
    assert not unknown, f"the env example sets variables nothing reads: {sorted(unknown)}"
