import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from kb import revision
from kb.importer import KbImportError, import_files, import_texts
from kb.models import ContactPoint, Organisation, Question, ReplyTemplate, Service, Topic

DATASETS = settings.BASE_DIR.parent / "shared" / "datasets"
FILES = [DATASETS / "cd99.yaml", DATASETS / "partners.yaml"]

MINIMAL = """\
organisation:
  slug: commune-x
  name: Commune X
  kind: commune
services:
  - slug: mairie
    name: Mairie
    contact_points:
      - kind: phone
        value: "+33 1 99 00 00 01"
  - slug: voirie
    name: Voirie
topics:
  - slug: voirie
    title: Trous dans la route
    services: [voirie]
    keywords: [trou, nid de poule]
templates:
  - slug: merci
    name: Merci
    body: "Bonjour {{ contact.name }}, votre demande {{ ticket.reference }}."
"""


def counts():
    return [m.objects.count() for m in (Organisation, Service, ContactPoint, Topic, Question, ReplyTemplate)]


@pytest.mark.django_db
def test_datasets_import_with_cross_references():
    report = import_files(FILES)
    assert report.changed
    cd99 = Organisation.objects.get(slug="cd99")
    assert cd99.services.count() == 15
    assert Topic.objects.filter(organisation__slug="partenaires").count() == 24
    topic = Topic.objects.get(organisation=cd99, slug="violences-conjugales")
    assert [str(s) for s in topic.candidate_services()] == [
        "cd99/mds-nord",
        "cd99/mds-centre",
        "cd99/mds-sud",
        "partenaires/ecoute-violences",
    ]
    assert topic.urgent and topic.sensitive
    assert cd99.triage_service().slug == "accueil"


@pytest.mark.django_db
def test_reimport_changes_nothing_not_even_the_revision():
    import_files(FILES)
    before, rev = counts(), revision.current()
    report = import_files(FILES)
    assert not report.changed
    assert counts() == before
    assert revision.current() == rev


@pytest.mark.django_db
def test_update_reports_added_changed_and_removed(capsys):
    import_texts([("x.yaml", MINIMAL)])
    updated = (
        MINIMAL.replace("name: Voirie", "name: Service voirie").replace(
            "  - slug: mairie\n    name: Mairie\n    contact_points:\n      - kind: phone\n"
            '        value: "+33 1 99 00 00 01"\n',
            "",
        )
        + "  - slug: bonjour\n    name: Bonjour\n    body: Bonjour\n"
    )
    report = import_texts([("x.yaml", updated)]).organisations[0]
    assert report.added["templates"] == 1
    assert report.changed["services"] == 1
    assert report.removed["services"] == 1
    assert report.removed["contact_points"] == 1
    assert list(Service.objects.values_list("slug", flat=True)) == ["voirie"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("kind: commune", "kind: commune\n  colour: blue"), "x.yaml:5: unknown key 'colour' in organisation"),
        (("keywords: [trou", "keyword: [trou"), "x.yaml:17: unknown key 'keyword' in topic 'voirie'"),
        (("services: [voirie]", "services: [nowhere]"), "x.yaml:16: topic 'voirie': unknown service 'nowhere'"),
        (("services: [voirie]", "services: [voirie]\n    parent: ghost"), "unknown parent topic 'ghost'"),
        (("kind: commune", "kind: village"), "x.yaml:4: unknown kind 'village'"),
        (("slug: merci", "slug: Merci!"), "invalid slug 'Merci!'"),
        (("{{ ticket.reference }}", "{{ user.password }}"), "unknown variable: user.password"),
        (("{{ ticket.reference }}", "{% load static %}"), "does not compile"),
        (("{{ ticket.reference }}", "{% include 'x.html' %}"), "tag not allowed: include"),
        (("  name: Commune X", "  name: [Commune"), "invalid YAML"),
        (("kind: phone", "kind: pigeon"), "unknown contact point kind 'pigeon'"),
        (("  name: Commune X", '  name: "Commune\\0X"'), "x.yaml:3: 'name' in organisation contains a control"),
        (("keywords: [trou", 'keywords: ["nid\\x07", trou'), "'keywords' in topic 'voirie' contains a control"),
    ],
)
def test_invalid_files_name_the_place_and_write_nothing(change, message):
    import_texts([("x.yaml", MINIMAL.replace("commune-x", "commune-y"))])
    before = counts()
    with pytest.raises(KbImportError) as error:
        import_texts([("x.yaml", MINIMAL.replace(*change))])
    assert any(message in line for line in error.value.errors), error.value.errors
    assert counts() == before


@pytest.mark.django_db
def test_cycle_in_the_topic_tree_is_refused():
    text = (
        MINIMAL + ""
        if False
        else MINIMAL.replace(
            "topics:\n",
            "topics:\n  - slug: a\n    title: A\n    parent: b\n  - slug: b\n    title: B\n    parent: a\n",
        )
    )
    with pytest.raises(KbImportError, match="cycle in the topic tree"):
        import_texts([("x.yaml", text)])
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_export_round_trips(tmp_path):
    import_files(FILES)
    for slug in ("cd99", "partenaires"):
        call_command("kb_export", slug, "-o", str(tmp_path / f"{slug}.yaml"))
    report = import_files([tmp_path / "cd99.yaml", tmp_path / "partenaires.yaml"])
    assert not report.changed


@pytest.mark.django_db
def test_command_prints_a_report_and_fails_clearly(tmp_path, capsys):
    call_command("kb_import", *map(str, FILES))
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["organisations"][0]["added"]["topics"] == 49
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL.replace("kind: commune", "kind: commune\n  colour: blue"))
    with pytest.raises(CommandError, match="bad.yaml:5: unknown key 'colour'"):
        call_command("kb_import", str(bad))


@pytest.mark.django_db
def test_demo_knowledge_base_imports():
    report = import_files([settings.BASE_DIR / "kb" / "fixtures" / "demo.yaml"])
    assert report.changed
    assert Organisation.objects.get(slug="demo").topics.filter(urgent=True).exists()


@pytest.mark.django_db
def test_admin_pages_of_the_knowledge_base(admin_client):
    import_files(FILES)
    topic = Topic.objects.first()
    for url in [
        "/admin/kb/topic/",
        f"/admin/kb/topic/{topic.pk}/change/",
        "/admin/kb/replytemplate/",
        "/admin/kb/service/",
        "/admin/routing/rule/",
        "/admin/routing/slapolicy/",
    ]:
        assert admin_client.get(url).status_code == 200, url
