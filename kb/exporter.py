"""Writing an organisation's knowledge base back in the exchange format."""

import yaml

from kb.models import Organisation


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def export_data(organisation):
    org = organisation
    data = {"organisation": {"slug": org.slug, "name": org.name, "kind": org.kind}}
    if org.timezone != "Europe/Paris":
        data["organisation"]["timezone"] = org.timezone
    services = []
    for service in org.services.order_by("position", "pk").prefetch_related("contact_points"):
        item = {"slug": service.slug, "name": service.name}
        if service.description:
            item["description"] = service.description
        if service.group:
            item["group"] = service.group
        territory = {k: getattr(service, k) for k in ("postcodes", "insee") if getattr(service, k)}
        if territory:
            item["territory"] = territory
        points = []
        for point in service.contact_points.all():
            entry = {"kind": point.kind, "value": point.value}
            entry.update({k: getattr(point, k) for k in ("hours", "label") if getattr(point, k)})
            points.append(entry)
        if points:
            item["contact_points"] = points
        if service.sla_hours is not None:
            item["sla_hours"] = service.sla_hours
        services.append(item)
    if services:
        data["services"] = services
    topics = []
    queryset = (
        org.topics.order_by("position", "pk")
        .select_related("parent")
        .prefetch_related("service_links__service__organisation", "questions__choices__target")
    )
    for topic in queryset:
        item = {"slug": topic.slug, "title": topic.title}
        if topic.parent:
            item["parent"] = topic.parent.slug
        refs = [
            link.service.slug if link.service.organisation_id == org.pk else str(link.service)
            for link in topic.service_links.all()
        ]
        if refs:
            item["services"] = refs
        for key in ("keywords", "examples"):
            if getattr(topic, key):
                item[key] = list(getattr(topic, key))
        for key in ("urgent", "sensitive"):
            if getattr(topic, key):
                item[key] = True
        if topic.priority != "normal":
            item["priority"] = topic.priority
        if topic.article:
            item["article"] = topic.article
        questions = [
            {"text": q.text, "choices": [{"label": c.label, "topic": c.target.slug} for c in q.choices.all()]}
            for q in topic.questions.all()
        ]
        if questions:
            item["questions"] = questions
        topics.append(item)
    if topics:
        data["topics"] = topics
    templates = []
    for template in org.templates.order_by("position", "pk").prefetch_related("topics"):
        item = {"slug": template.slug, "name": template.name}
        if template.channels:
            item["channels"] = list(template.channels)
        slugs = sorted(t.slug for t in template.topics.all())
        if slugs:
            item["topics"] = slugs
        if template.subject:
            item["subject"] = template.subject
        item["body"] = template.body
        templates.append(item)
    if templates:
        data["templates"] = templates
    return data


def export_yaml(organisation):
    return yaml.dump(export_data(organisation), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def export_slug(slug):
    return export_yaml(Organisation.objects.get(slug=slug))
