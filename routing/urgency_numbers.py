"""National emergency numbers given to a citizen whose request looks urgent."""

from django.utils.translation import gettext_lazy as _

EMERGENCY_NUMBERS = {
    "violence": [("3919", _("Violences Femmes Info (free, anonymous, 24/7)")), ("17", _("Police"))],
    "child": [("119", _("Allô Enfance en Danger (free, 24/7)"))],
    "homeless": [("115", _("Emergency shelter (SAMU social)"))],
    "suicide": [("3114", _("Suicide prevention (free, 24/7)"))],
    "health": [("15", _("SAMU (medical emergency)"))],
}
ALWAYS = [("112", _("European emergency number")), ("114", _("Emergency number by SMS for deaf people"))]


def relevant_numbers(categories):
    """The numbers that fit the urgency categories, then the general ones."""
    numbers, seen = [], set()
    for category in categories:
        for number, label in EMERGENCY_NUMBERS.get(category, []):
            if number not in seen:
                seen.add(number)
                numbers.append((number, label))
    return numbers + [item for item in ALWAYS if item[0] not in seen]
