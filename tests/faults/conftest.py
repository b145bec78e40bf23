"""Fixtures of the fault-injection suite (see ``stack.py``): the private
stack once per session, a scenario's share of it per test, and the report.

Each scenario records a report line (counts in, counts stored, outbox
outcomes), printed at the end of the run and written to
``test-artifacts/faults/report.json``.
"""

import json

import pytest

from tests.faults.stack import REPORT_PATH, Scenario, private_stack
from tests.support.processes import ROOT


@pytest.fixture(scope="session")
def faults_stack():
    with private_stack() as stack:
        yield stack


@pytest.fixture
def scenario(faults_stack, tmp_path, request):
    """The scenario its module names (``SCENARIO``): one database, mailbox and set of processes."""
    current = Scenario(faults_stack, request.module.SCENARIO, tmp_path)
    try:
        yield current
    finally:
        current.close()


_REPORT = []


@pytest.fixture
def report():
    """``report(scenario_name, **figures)``: one line of the run's report."""

    def add(name, **figures):
        _REPORT.append({"scenario": name, **figures})

    return add


def pytest_terminal_summary(terminalreporter):
    if not _REPORT:
        return
    terminalreporter.section("fault injection: counts in, counts stored, outbox outcomes")
    for line in _REPORT:
        terminalreporter.write_line(json.dumps(line, ensure_ascii=False, sort_keys=True))
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    REPORT_PATH.write_text(json.dumps(_REPORT, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    terminalreporter.write_line(f"written to {REPORT_PATH.relative_to(ROOT)}")
