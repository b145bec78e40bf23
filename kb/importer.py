"""Importing knowledge-base YAML files (../shared/kb-format.md).

All the files of one call are validated together, then written in one
transaction, in place by slug. Any error names the file, the line and the
key, and nothing is written.
"""

import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.db import transaction

from kb import revision
from kb.models import (
    Choice,
    ContactPoint,
    Organisation,
    Question,
    ReplyTemplate,
    Service,
    Topic,
    TopicService,
)
from kb.templating import validate_template
from kb.yaml_loader import Located, load

SLUG = re.compile(r"^[a-z0-9-]+$")
ORG_KEYS = {"slug", "name", "kind", "timezone"}
KINDS = {"region", "departement", "commune", "epci", "etat", "partenaire"}
SERVICE_KEYS = {"slug", "name", "description", "group", "territory", "contact_points", "sla_hours"}
TERRITORY_KEYS = {"postcodes", "insee"}
CP_KEYS = {"kind", "value", "hours", "label"}
CP_KINDS = {"phone", "email", "address", "online", "callback", "chat"}
TOPIC_KEYS = {
    "slug",
    "title",
    "parent",
    "services",
    "keywords",
    "examples",
    "urgent",
    "sensitive",
    "priority",
    "article",
    "questions",
}
QUESTION_KEYS = {"text", "choices"}
CHOICE_KEYS = {"label", "topic"}
PRIORITIES = {"low", "normal", "high", "urgent"}
TEMPLATE_KEYS = {"slug", "name", "channels", "topics", "subject", "body"}
CHANNELS = {"email", "sms", "chat", "form"}
TOP_KEYS = {"organisation", "services", "topics", "templates"}
KINDS_REPORTED = ("services", "contact_points", "topics", "questions", "templates")


# C0 controls but tab, line feed and carriage return, and DEL.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class KbImportError(Exception):
    """Invalid knowledge base; ``errors`` lists "file:line: message" strings."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class OrganisationReport:
    slug: str
    created: bool = False
    added: dict = field(default_factory=lambda: dict.fromkeys(KINDS_REPORTED, 0))
    changed: dict = field(default_factory=lambda: dict.fromkeys(KINDS_REPORTED, 0))
    removed: dict = field(default_factory=lambda: dict.fromkeys(KINDS_REPORTED, 0))

    @property
    def unchanged(self):
        return not self.created and not any(sum(d.values()) for d in (self.added, self.changed, self.removed))

    def as_dict(self):
        return {
            "organisation": self.slug,
            "created": self.created,
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
        }


@dataclass
class ImportReport:
    organisations: list

    @property
    def changed(self):
        return any(not report.unchanged for report in self.organisations)

    def as_dict(self):
        return {"changed": self.changed, "organisations": [r.as_dict() for r in self.organisations]}


class _Checker:
    def __init__(self, name):
        self.name = name
        self.errors = []

    def error(self, line, message):
        self.errors.append(f"{self.name}:{line}: {message}")

    def mapping(self, value, where, allowed, required, line):
        if not isinstance(value, Located):
            self.error(getattr(value, "line", line), f"{where}: expected a mapping")
            return False
        for key in value:
            if key not in allowed:
                self.error(value.key_lines[key], f"unknown key {key!r} in {where}")
        for key in required:
            if value.get(key) in (None, ""):
                self.error(value.line, f"missing key {key!r} in {where}")
        return True

    def text(self, mapping, key, where, max_length=None):
        value = mapping.get(key)
        if value is None:
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.error(mapping.key_lines.get(key, mapping.line), f"{key!r} in {where} must be text")
            return ""
        value = str(value)
        if max_length and len(value) > max_length:
            self.error(mapping.key_lines[key], f"{key!r} in {where} is longer than {max_length} characters")
        return self._printable(value, mapping, key, where)

    def _printable(self, value, mapping, key, where):
        """Text a person typed: no control characters (a NUL from a YAML
        "\\0" escape would make the database refuse the whole import)."""
        bad = CONTROL.search(value)
        if bad:
            self.error(
                mapping.key_lines.get(key, mapping.line),
                f"{key!r} in {where} contains a control character (U+{ord(bad.group()):04X})",
            )
            return ""
        return value

    def text_list(self, mapping, key, where):
        value = mapping.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
            self.error(mapping.key_lines.get(key, mapping.line), f"{key!r} in {where} must be a list of texts")
            return []
        return [self._printable(str(v), mapping, key, where) for v in value]

    def boolean(self, mapping, key, where):
        value = mapping.get(key, False)
        if not isinstance(value, bool):
            self.error(mapping.key_lines.get(key, mapping.line), f"{key!r} in {where} must be true or false")
            return False
        return value

    def slug(self, mapping, where):
        value = self.text(mapping, "slug", where, 100)
        if value and not SLUG.match(value):
            self.error(mapping.key_lines["slug"], f"invalid slug {value!r} in {where}: use a-z, 0-9 and -")
        return value


def _parse_file(name, text):
    """The validated, normalised content of one file (or errors)."""
    check = _Checker(name)
    try:
        data = load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        return None, [f"{name}:{line}: invalid YAML: {getattr(exc, 'problem', None) or exc}"]
    if not check.mapping(data, "the file", TOP_KEYS, ["organisation"], 1):
        return None, check.errors
    org = data["organisation"]
    result = {"services": [], "topics": [], "templates": []}
    if check.mapping(org, "organisation", ORG_KEYS, ["slug", "name", "kind"], data.line):
        result["organisation"] = {
            "slug": check.slug(org, "organisation"),
            "name": check.text(org, "name", "organisation", 200),
            "kind": check.text(org, "kind", "organisation"),
            "timezone": check.text(org, "timezone", "organisation") or "Europe/Paris",
            "line": org.line,
        }
        if result["organisation"]["kind"] and result["organisation"]["kind"] not in KINDS:
            check.error(org.key_lines["kind"], f"unknown kind {org['kind']!r} in organisation")
        if result["organisation"]["timezone"] not in zoneinfo.available_timezones():
            check.error(org.key_lines.get("timezone", org.line), f"unknown timezone {org.get('timezone')!r}")
    else:
        return None, check.errors
    org_slug = result["organisation"]["slug"]

    for item in _list(data, "services", check):
        where = f"service {item.get('slug')!r}" if isinstance(item, dict) else "services"
        if not check.mapping(item, where, SERVICE_KEYS, ["slug", "name"], data.line):
            continue
        territory = item.get("territory") or Located()
        if item.get("territory") is not None:
            check.mapping(territory, f"territory of {where}", TERRITORY_KEYS, [], item.line)
        points = []
        for point in _list(item, "contact_points", check):
            if not check.mapping(point, f"contact point of {where}", CP_KEYS, ["kind", "value"], item.line):
                continue
            kind = check.text(point, "kind", where)
            if kind and kind not in CP_KINDS:
                check.error(point.key_lines["kind"], f"unknown contact point kind {kind!r} in {where}")
            points.append({key: check.text(point, key, where, 500) for key in ("kind", "value", "hours", "label")})
        sla = item.get("sla_hours")
        if sla is not None and (not isinstance(sla, int) or isinstance(sla, bool) or sla < 0):
            check.error(item.key_lines["sla_hours"], f"'sla_hours' in {where} must be a positive whole number")
            sla = None
        result["services"].append(
            {
                "slug": check.slug(item, where),
                "name": check.text(item, "name", where, 200),
                "description": check.text(item, "description", where),
                "group": check.text(item, "group", where, 64),
                "postcodes": check.text_list(territory, "postcodes", where) if territory else [],
                "insee": check.text_list(territory, "insee", where) if territory else [],
                "sla_hours": sla,
                "contact_points": points,
                "line": item.line,
            }
        )

    for item in _list(data, "topics", check):
        where = f"topic {item.get('slug')!r}" if isinstance(item, dict) else "topics"
        if not check.mapping(item, where, TOPIC_KEYS, ["slug", "title"], data.line):
            continue
        priority = check.text(item, "priority", where) or "normal"
        if priority not in PRIORITIES:
            check.error(item.key_lines["priority"], f"unknown priority {priority!r} in {where}")
        questions = []
        for question in _list(item, "questions", check):
            if not check.mapping(question, f"question of {where}", QUESTION_KEYS, ["text", "choices"], item.line):
                continue
            choices = []
            for choice in _list(question, "choices", check):
                if check.mapping(choice, f"choice of {where}", CHOICE_KEYS, ["label", "topic"], question.line):
                    choices.append(
                        {
                            "label": check.text(choice, "label", where, 300),
                            "topic": check.text(choice, "topic", where),
                            "line": choice.key_lines.get("topic", choice.line),
                        }
                    )
            questions.append({"text": check.text(question, "text", where, 500), "choices": choices})
        result["topics"].append(
            {
                "slug": check.slug(item, where),
                "title": check.text(item, "title", where, 300),
                "parent": check.text(item, "parent", where) or None,
                "services": check.text_list(item, "services", where),
                "keywords": check.text_list(item, "keywords", where),
                "examples": check.text_list(item, "examples", where),
                "urgent": check.boolean(item, "urgent", where),
                "sensitive": check.boolean(item, "sensitive", where),
                "priority": priority,
                "article": check.text(item, "article", where),
                "questions": questions,
                "line": item.line,
                "lines": dict(item.key_lines),
            }
        )

    for item in _list(data, "templates", check):
        where = f"template {item.get('slug')!r}" if isinstance(item, dict) else "templates"
        if not check.mapping(item, where, TEMPLATE_KEYS, ["slug", "name", "body"], data.line):
            continue
        channels = check.text_list(item, "channels", where)
        for channel in channels:
            if channel not in CHANNELS:
                check.error(item.key_lines["channels"], f"unknown channel {channel!r} in {where}")
        for key in ("subject", "body"):
            for problem in validate_template(check.text(item, key, where)):
                check.error(item.key_lines.get(key, item.line), f"{key} of {where}: {problem}")
        result["templates"].append(
            {
                "slug": check.slug(item, where),
                "name": check.text(item, "name", where, 200),
                "channels": channels,
                "topics": check.text_list(item, "topics", where),
                "subject": check.text(item, "subject", where, 300),
                "body": check.text(item, "body", where),
                "line": item.line,
                "topics_line": item.key_lines.get("topics", item.line),
            }
        )

    for kind in ("services", "topics", "templates"):
        seen = {}
        for entry in result[kind]:
            if entry["slug"] in seen:
                check.error(
                    entry["line"], f"duplicate slug {entry['slug']!r} in {kind} (first at line {seen[entry['slug']]})"
                )
            seen.setdefault(entry["slug"], entry["line"])
    result["name"] = name
    result["org_slug"] = org_slug
    return result, check.errors


def _list(mapping, key, check):
    value = mapping.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        check.error(mapping.key_lines.get(key, mapping.line), f"{key!r} must be a list")
        return []
    return value


def _check_references(files):
    """Cross-file checks: services and topics that exist, no cycle."""
    errors = []
    services = {(f["org_slug"], s["slug"]) for f in files for s in f["services"]}
    importing = {f["org_slug"] for f in files}
    # Services of organisations imported earlier count too, unless this import replaces them.
    services |= {key for key in Service.objects.values_list("organisation__slug", "slug") if key[0] not in importing}
    for f in files:
        topics = {t["slug"]: t for t in f["topics"]}
        org = f["org_slug"]
        for topic in f["topics"]:
            where = f"topic {topic['slug']!r}"
            if topic["parent"] and topic["parent"] not in topics:
                errors.append(
                    f"{f['name']}:{topic['lines'].get('parent', topic['line'])}: {where}: unknown parent topic {topic['parent']!r}"
                )
            for ref in topic["services"]:
                key = tuple(ref.split("/", 1)) if "/" in ref else (org, ref)
                if key not in services:
                    errors.append(
                        f"{f['name']}:{topic['lines'].get('services', topic['line'])}: {where}: unknown service {ref!r}"
                    )
            for question in topic["questions"]:
                for choice in question["choices"]:
                    if choice["topic"] and choice["topic"] not in topics:
                        errors.append(
                            f"{f['name']}:{choice['line']}: {where}: a choice leads to unknown topic {choice['topic']!r}"
                        )
        for topic in f["topics"]:  # cycles in the tree
            seen, current = set(), topic
            while current and current["parent"]:
                if current["slug"] in seen:
                    errors.append(f"{f['name']}:{topic['line']}: topic {topic['slug']!r}: cycle in the topic tree")
                    break
                seen.add(current["slug"])
                current = topics.get(current["parent"])
        for template in f["templates"]:
            for slug in template["topics"]:
                if slug not in topics:
                    errors.append(
                        f"{f['name']}:{template['topics_line']}: template {template['slug']!r}: unknown topic {slug!r}"
                    )
    orgs = [f["org_slug"] for f in files]
    for slug in {s for s in orgs if orgs.count(s) > 1}:
        errors.append(f"organisation {slug!r} is described by more than one file")
    return errors


def import_texts(named_texts):
    """Import [(name, text), ...]; returns an ImportReport or raises KbImportError."""
    parsed, errors = [], []
    for name, text in named_texts:
        result, file_errors = _parse_file(name, text)
        errors.extend(file_errors)
        if result is not None:
            parsed.append(result)
    if not errors:
        errors.extend(_check_references(parsed))
    if errors:
        raise KbImportError(errors)
    with transaction.atomic(), revision.suspended() as changes:
        reports = [_write_organisation(f) for f in parsed]
        for f in parsed:
            _write_links(f, reports[parsed.index(f)])
        report = ImportReport(reports)
        if report.changed:
            changes.append(True)
    return report


def import_files(paths):
    named = []
    errors = []
    for path in map(Path, paths):
        try:
            named.append((path.name, path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(f"{path}:0: cannot read: {exc}")
    if errors:
        raise KbImportError(errors)
    return import_texts(named)


def _sync(model, existing, wanted, fields, report, kind, **fixed):
    """Create, update (when a field differs) and delete rows keyed by slug."""
    rows = {}
    for position, (key, values) in enumerate(wanted.items()):
        values = {**values, "position": position}
        row = existing.pop(key, None)
        if row is None:
            row = model.objects.create(**fixed, **values)
            report.added[kind] += 1
        else:
            diff = {f: v for f, v in values.items() if f in fields and getattr(row, f) != v}
            if diff:
                for f, v in diff.items():
                    setattr(row, f, v)
                row.save(update_fields=list(diff))
                report.changed[kind] += 1
        rows[key] = row
    for row in existing.values():
        row.delete()
        report.removed[kind] += 1
    return rows


def _write_organisation(f):
    data = f["organisation"]
    report = OrganisationReport(data["slug"])
    org = Organisation.objects.filter(slug=data["slug"]).first()
    if org is None:
        org = Organisation.objects.create(
            slug=data["slug"], name=data["name"], kind=data["kind"], timezone=data["timezone"]
        )
        report.created = True
    else:
        diff = {k: data[k] for k in ("name", "kind", "timezone") if getattr(org, k) != data[k]}
        if diff:
            for k, v in diff.items():
                setattr(org, k, v)
            org.save()
            report.created = False
    f["_org"] = org
    wanted_slugs = {s["slug"] for s in f["services"]}
    report.removed["contact_points"] += (
        ContactPoint.objects.filter(service__organisation=org).exclude(service__slug__in=wanted_slugs).count()
    )
    service_fields = ["name", "description", "group", "postcodes", "insee", "sla_hours", "position"]
    services = _sync(
        Service,
        {s.slug: s for s in org.services.all()},
        {s["slug"]: {k: s[k] for k in ["slug", *service_fields[:-1]]} for s in f["services"]},
        service_fields,
        report,
        "services",
        organisation=org,
    )
    for entry in f["services"]:
        service = services[entry["slug"]]
        _sync_list(  # noqa: E501
            ContactPoint,
            service.contact_points.all(),
            entry["contact_points"],
            ["kind", "value", "hours", "label"],
            report,
            "contact_points",
            service=service,
        )
    topic_fields = ["title", "keywords", "examples", "urgent", "sensitive", "priority", "article", "position"]
    topics = _sync(
        Topic,
        {t.slug: t for t in org.topics.all()},
        {t["slug"]: {k: t[k] for k in ["slug", *topic_fields[:-1]]} for t in f["topics"]},
        topic_fields,
        report,
        "topics",
        organisation=org,
    )
    f["_topics"] = topics
    template_fields = ["name", "channels", "subject", "body", "position"]
    f["_templates"] = _sync(
        ReplyTemplate,
        {t.slug: t for t in org.templates.all()},
        {t["slug"]: {k: t[k] for k in ["slug", *template_fields[:-1]]} for t in f["templates"]},
        template_fields,
        report,
        "templates",
        organisation=org,
    )
    return report


def _sync_list(model, queryset, wanted, fields, report, kind, **fixed):
    """Rows without a slug (contact points, questions): compared in order."""
    existing = list(queryset)
    current = [{f: getattr(row, f) for f in fields} for row in existing]
    wanted = [{f: item.get(f, "") for f in fields} for item in wanted]
    if current == wanted:
        return existing, False
    for row in existing:
        row.delete()
    rows = [model.objects.create(**fixed, **values, position=i) for i, values in enumerate(wanted)]
    delta = len(wanted) - len(existing)
    report.added[kind] += max(delta, 0)
    report.removed[kind] += max(-delta, 0)
    report.changed[kind] += min(len(wanted), len(existing))
    return rows, True


def _write_links(f, report):
    org = f["_org"]
    topics = f["_topics"]
    for entry in f["topics"]:
        topic = topics[entry["slug"]]
        parent = topics[entry["parent"]] if entry["parent"] else None
        if topic.parent_id != (parent.pk if parent else None):
            topic.parent = parent
            topic.save(update_fields=["parent"])
        wanted = []
        for ref in entry["services"]:
            org_slug, slug = ref.split("/", 1) if "/" in ref else (org.slug, ref)
            wanted.append(Service.objects.get(organisation__slug=org_slug, slug=slug).pk)
        current = list(topic.service_links.order_by("position", "pk").values_list("service_id", flat=True))
        if current != wanted:
            topic.service_links.all().delete()
            TopicService.objects.bulk_create(
                [TopicService(topic=topic, service_id=pk, position=i) for i, pk in enumerate(wanted)]
            )
            if current:
                report.changed["topics"] += 1
        current_q = [
            {"text": q.text, "choices": [(c.label, c.target.slug) for c in q.choices.all()]}
            for q in topic.questions.prefetch_related("choices__target")
        ]
        wanted_q = [
            {"text": q["text"], "choices": [(c["label"], c["topic"]) for c in q["choices"]]} for q in entry["questions"]
        ]
        if current_q != wanted_q:
            before = len(current_q)
            topic.questions.all().delete()
            for i, q in enumerate(entry["questions"]):
                question = Question.objects.create(topic=topic, text=q["text"], position=i)
                for j, c in enumerate(q["choices"]):
                    Choice.objects.create(question=question, label=c["label"], target=topics[c["topic"]], position=j)
            report.added["questions"] += max(len(wanted_q) - before, 0)
            report.removed["questions"] += max(before - len(wanted_q), 0)
            report.changed["questions"] += min(before, len(wanted_q))
    for entry in f["templates"]:
        template = f["_templates"][entry["slug"]]
        wanted = sorted(topics[slug].pk for slug in entry["topics"])
        if sorted(template.topics.values_list("pk", flat=True)) != wanted:
            template.topics.set(wanted)
