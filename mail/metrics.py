"""The mail listener's Prometheus metrics (added up with the web's on
/metrics when PROMETHEUS_MULTIPROC_DIR is shared, docs/deployment.md)."""

from prometheus_client import Counter

imap_errors = Counter(
    "aiguillage_imap_errors_total",
    "IMAP connection or fetch errors of the mail listener (each followed by a reconnection), by mailbox id.",
    ["mailbox"],
)
