"""Property tests (hypothesis): MIME parsing, template rendering and the
knowledge-base import hold on whatever input they are given."""

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.importer import KbImportError, import_texts
from kb.models import Organisation, Topic
from kb.templating import TemplateRenderError, render_template, validate_template
from mail.parsing import parse_email

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)

header_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
charsets = st.sampled_from(["utf-8", "iso-8859-1", "windows-1252", "us-ascii", "utf-16", "x-unknown", "koi8-r", ""])
content_types = st.sampled_from(
    ["text/plain", "text/html", "multipart/alternative", "multipart/mixed", "application/pdf", "message/rfc822", "x/y"]
)
encodings = st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "binary", "x-uuencode", ""])


@st.composite
def emails(draw):
    headers = [
        ("From", draw(header_text)),
        ("To", draw(header_text)),
        ("Subject", draw(header_text)),
        ("Message-ID", draw(header_text)),
        ("Content-Type", f"{draw(content_types)}; charset={draw(charsets)}; boundary={draw(header_text)[:20]}"),
        ("Content-Transfer-Encoding", draw(encodings)),
    ]
    if draw(st.booleans()):
        headers.append(("In-Reply-To", draw(header_text)))
    head = "\r\n".join(f"{name}: {value}" for name, value in headers).encode("utf-8", "surrogateescape")
    body = draw(st.binary(max_size=600) | st.text(max_size=600).map(lambda t: t.encode("utf-8", "surrogateescape")))
    return head + b"\r\n\r\n" + body


@SETTINGS
@given(raw=emails())
def test_any_email_is_read_or_rejected_with_a_reason(raw):
    parsed = parse_email(raw)
    # An "unreadable message" rejection means an unexpected exception inside.
    assert not (parsed.rejection or "").startswith("unreadable message"), parsed.rejection
    if not parsed.rejection:
        assert isinstance(parsed.subject, str) and isinstance(parsed.text, str)


template_pieces = st.sampled_from(
    [
        "Bonjour ",
        "{{ contact.name }}",
        "{{ ticket.reference }}",
        "{{ contact.name|default:'' }}",
        "{% if contact.name %}",
        "{% endif %}",
        "{% for x in ticket.tags %}",
        "{% endfor %}",
        "{{ unknown }}",
        "{% load static %}",
        "{% include 'x.html' %}",
        "{{ contact.__class__ }}",
        "{{",
        "}}",
        "{%",
        "%}",
        "{# comment #}",
        "{{ ticket.reference|upper }}",
        "{{ x|safe }}",
    ]
)


@SETTINGS
@given(pieces=st.lists(template_pieces | st.text(max_size=10), max_size=12))
def test_any_template_is_rendered_or_refused_with_a_reason(pieces):
    source = "".join(pieces)
    problems = validate_template(source)
    assert isinstance(problems, list)

    class Contact:
        name = "<Léa>"

    class Ticket:
        reference = "CD99-2026-000001"
        tags = ["a", "b"]

    try:
        result = render_template(source, {"contact": Contact(), "ticket": Ticket()})
    except TemplateRenderError as error:
        assert str(error)
    else:
        assert not problems
        assert isinstance(result, str)


VALID = {
    "organisation": {"slug": "prop", "name": "Propriétés", "kind": "commune"},
    "services": [{"slug": "accueil", "name": "Accueil"}],
    "topics": [{"slug": "t", "title": "Sujet", "services": ["accueil"], "keywords": ["mot"]}],
    "templates": [{"slug": "r", "name": "Réponse", "body": "Bonjour {{ contact.name }}"}],
}
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=20),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)


@st.composite
def mutated_kbs(draw):
    import copy

    data = copy.deepcopy(VALID)
    section = draw(st.sampled_from(["organisation", "services", "topics", "templates"]))
    target = data[section] if section == "organisation" else data[section][0]
    key = draw(st.sampled_from(sorted(target)) | st.text(min_size=1, max_size=8))
    if draw(st.booleans()):
        target.pop(key, None)
    else:
        target[key] = draw(values)
    return yaml.safe_dump(data, allow_unicode=True)


@pytest.mark.django_db
def test_any_knowledge_base_file_is_imported_or_refused_whole():
    @SETTINGS
    @given(text=mutated_kbs())
    def check(text):
        before = (Organisation.objects.count(), Topic.objects.count())
        try:
            import_texts([("prop.yaml", text)])
        except KbImportError as error:
            assert "prop.yaml" in str(error)
            assert (Organisation.objects.count(), Topic.objects.count()) == before
        Organisation.objects.filter(slug="prop").delete()

    check()
