from email.message import EmailMessage

import pytest

from mail.parsing import parse_email
from mail.robots import detect_robot


def message(subject="Ma demande de RSA", sender="Jean Dupont <jean@citoyen.example>", **headers):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "contact@cd99.example"
    msg["Subject"] = subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Bonjour, je suis absent du bureau.")
    return msg


def test_a_person_is_not_a_robot():
    assert detect_robot(message()) == ""
    assert detect_robot(message(Auto_Submitted="no")) == ""


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Auto_Submitted": "auto-generated"},
        {"X_Autoreply": "yes"},
        {"X_Autorespond": "Out of office"},
        {"X_Auto_Response_Suppress": "All"},
        {"X_Auto_Response_Suppress": "OOF, AutoReply"},
        {"Precedence": "bulk"},
        {"Precedence": "list"},
        {"Precedence": "junk"},
        {"Precedence": "auto_reply"},
        {"List_Id": "<annonces.cd99.example>"},
        {"List_Unsubscribe": "<mailto:unsubscribe@lists.example>"},
        {"Return_Path": "<>"},
        {"X_Loop": "contact@cd99.example"},
    ],
)
def test_robot_headers(headers):
    assert detect_robot(message(**headers))


@pytest.mark.parametrize(
    "subject",
    [
        "Absence du bureau",
        "Réponse automatique : Ma demande",
        "Reponse automatique: Ma demande",
        "Message d'absence",
        "Je suis absent jusqu'au 12 mars",
        "Out of Office: your request",
        "Automatic reply: your request",
        "Auto: your request",
        "Autoreply: your request",
        "Undelivered Mail Returned to Sender",
    ],
)
def test_out_of_office_subjects(subject):
    assert detect_robot(message(subject=subject))


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example", "postmaster@mx.example", "noreply@service.example"])
def test_robot_senders(sender):
    assert detect_robot(message(sender=sender))


def test_our_own_addresses_are_a_loop():
    msg = message(sender="Accueil <Contact@CD99.example>")
    assert detect_robot(msg) == ""
    assert "own" in detect_robot(msg, own_addresses=["contact@cd99.example"])


def test_subject_mentioning_absence_in_the_middle_is_a_person():
    assert detect_robot(message(subject="Demande suite à mon absence du bureau")) == ""


def test_dsn_report_is_a_robot():
    msg = EmailMessage()
    msg["From"] = "MAILER-DAEMON@mx.example"
    msg["Subject"] = "failure"
    msg.set_content("failed")
    msg.make_mixed()
    msg.replace_header("Content-Type", 'multipart/report; report-type="delivery-status"; boundary="b"')
    assert detect_robot(msg)


def test_parse_email_marks_robots_auto_submitted():
    parsed = parse_email(bytes(message(subject="Réponse automatique")))
    assert parsed.auto_submitted
    assert "automatic reply" in parsed.auto_reason
    parsed = parse_email(bytes(message()), own_addresses=["jean@citoyen.example"])
    assert parsed.auto_submitted
