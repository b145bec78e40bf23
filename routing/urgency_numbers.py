"""National emergency numbers given to a citizen whose request looks urgent."""

from django.utils.translation import gettext_lazy as _

# Every number, once: what it is for.
NUMBERS = {
    "3919": _("Violences Femmes Info (free, anonymous, 24/7)"),
    "119": _("Allô Enfance en Danger (free, 24/7)"),
    "115": _("Emergency shelter (SAMU social)"),
    "17": _("Police"),
    "15": _("SAMU (medical emergency)"),
    "112": _("European emergency number"),
    "114": _("Emergency number by SMS for deaf people"),
    "3114": _("Suicide prevention (free, 24/7)"),
}

# The numbers that fit each urgency category of routing.urgency, best first.
EMERGENCY_NUMBERS = {
    "violence": [("3919", NUMBERS["3919"]), ("17", NUMBERS["17"])],
    "child": [("119", NUMBERS["119"])],
    "homeless": [("115", NUMBERS["115"])],
    "eviction": [("115", NUMBERS["115"])],
    "suicide": [("3114", NUMBERS["3114"]), ("15", NUMBERS["15"])],
    "health": [("15", NUMBERS["15"])],
    "elderly": [("15", NUMBERS["15"])],
}
ALWAYS = [("112", NUMBERS["112"]), ("114", NUMBERS["114"])]


def relevant_numbers(categories):
    """The numbers that fit the urgency categories (or reasons such as
    "violence: « ... »"), then the general ones, each number once."""
    numbers, seen = [], set()
    for item in categories or ():
        category = str(item).split(":", 1)[0].strip()
        for number, label in EMERGENCY_NUMBERS.get(category, []):
            if number not in seen:
                seen.add(number)
                numbers.append((number, label))
    return numbers + [item for item in ALWAYS if item[0] not in seen]
