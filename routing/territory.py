"""Which of a topic's candidate services is competent for a place."""

import re

POSTCODE_RE = re.compile(r"(?<!\d)((?:0[1-9]|[1-9]\d)\d{3})(?!\d)")


def postcode_in_text(text):
    """The first French postcode written in the text, or ""."""
    match = POSTCODE_RE.search(text or "")
    return match.group(1) if match else ""


def choose_service(candidates, postcode="", insee=""):
    """The candidate whose territory covers the place, else the first.

    Returns (service, reason) where reason says why, for the routing record.
    """
    candidates = list(candidates)
    if not candidates:
        return None, "no candidate service"
    if postcode or insee:
        for service in candidates:
            if service.has_territory and service.covers(postcode, insee):
                return service, f"territory covers {postcode or insee}"
        for service in candidates:
            if not service.has_territory:
                return service, "service without territory"
    return candidates[0], "first candidate"
