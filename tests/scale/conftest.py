# The real IMAP server of the mail tests, for the scale-out test.
from tests.mail.conftest import dovecot, dovecot_server, mailbox  # noqa: F401
