import pytest

from kb.templating import TemplateRenderError, render_template, validate_template


def test_offered_variables_render():
    text = render_template(
        "Bonjour {{ contact.name|default:'' }}, réf. {{ ticket.reference }}",
        {"contact": {"name": "Marie"}, "ticket": {"reference": "CD99-2026-000001"}},
    )
    assert text == "Bonjour Marie, réf. CD99-2026-000001"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{% load static %}", "does not compile"),
        ("{% include 'base.html' %}", "tag not allowed: include"),
        ("{% debug %}", "tag not allowed"),
        ("{{ settings.SECRET_KEY }}", "unknown variable"),
        ("{{ ticket.reference|safe }}", "filter not allowed: safe"),
        ("{{ contact._meta }}", "underscores"),
    ],
)
def test_the_sandbox_refuses(source, problem):
    assert any(problem in p for p in validate_template(source))


def test_strict_rendering_names_the_missing_variable():
    with pytest.raises(TemplateRenderError, match=r"ticket.reference"):
        render_template("Réf. {{ ticket.reference }}", {"ticket": {}}, strict=True)
