import pytest

from channels_app.sms.encoding import GSM7, UCS2, prepare


def test_french_text_is_mapped_to_gsm7_keeping_the_accents_it_has():
    prepared = prepare("Été à Noël : pièces à fournir, garçon, cœur, « forêt » – déjà…")
    assert prepared.encoding == GSM7
    assert prepared.text == 'Été à Noel : pièces à fournir, garcon, coeur, " foret " - déjà...'
    assert prepared.segments == 1


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters count two septets
        ("€" * 81, 2),
        ("a" * 152 + "€", 1),  # 154 septets still fit one SMS
        ("a" * 158 + "€" + "a" * 2, 2),  # 162 septets; the escape pair is not split
    ],
)
def test_gsm7_segments(text, segments):
    prepared = prepare(text)
    assert prepared.encoding == GSM7
    assert prepared.segments == segments


def test_gsm7_never_splits_an_escape_pair():
    # 152 plain characters then "€": 154 septets in the first 153-septet
    # segment would cut the pair, so the euro sign opens the second one.
    prepared = prepare("a" * 152 + "€" + "b" * 160)
    assert prepared.units == 152 + 2 + 160
    assert prepared.segments == 3


@pytest.mark.parametrize(
    ("text", "segments"),
    [("ж" * 70, 1), ("ж" * 71, 2), ("ж" * 134, 2), ("ж" * 135, 3), ("🙂" * 35, 1), ("🙂" * 36, 2)],
)
def test_ucs2_is_counted_in_utf16_units(text, segments):
    prepared = prepare(text)
    assert prepared.encoding == UCS2
    assert prepared.segments == segments


def test_unmappable_text_is_sent_untouched_in_ucs2():
    prepared = prepare("Forêt 🙂")
    assert prepared.encoding == UCS2
    assert prepared.text == "Forêt 🙂"
