"""The inbox's selects are written in Python: same markup semantics as
Django's, labels escaped, the chosen value selected."""

from django import forms

from contacts.inbox.forms import PlainChoiceField


class Shape(forms.Form):
    who = PlainChoiceField(choices=[("", "Tous"), ("7", '<script>alert("x")</script> Zoé'), ("me", "Moi")])


def test_the_chosen_option_is_selected_and_labels_are_escaped():
    html = str(Shape({"who": "7"})["who"])
    assert html.startswith('<select name="who" id="id_who" required>')
    assert '<option value="7" selected>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Zoé</option>' in html
    assert '<option value="">Tous</option>' in html
    assert "<script>" not in html


def test_a_value_outside_the_choices_is_refused():
    form = Shape({"who": "42"})
    assert not form.is_valid() and "who" in form.errors
