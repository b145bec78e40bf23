"""Raw citizen emails for the tests."""

USER = "contact@cd99.example"


def citizen_email(n, subject=None, sender=None, extra_headers="", body=None):
    sender = sender or f"citoyen{n}@citoyen.example"
    subject = subject or f"Demande numéro {n}"
    body = body or f"Bonjour,\r\nceci est ma demande numéro {n}.\r\nCordialement"
    return (
        f"From: Citoyen {n} <{sender}>\r\n"
        f"To: {USER}\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <m{n}@citoyen.example>\r\n"
        f"Date: Tue, 24 Nov 2026 10:00:00 +0100\r\n"
        f"{extra_headers}"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        f"{body}\r\n"
    ).encode()
