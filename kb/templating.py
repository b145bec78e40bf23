"""Reply templates: Django template syntax in a sandbox. Only a few tags and
filters, only the variables offered (contact, ticket, agent, service,
organisation), nothing loaded, included or executed beyond that."""

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import TextNode, VariableDoesNotExist, VariableNode
from django.template.defaulttags import CommentNode, FirstOfNode, ForNode, IfNode, NowNode, SpacelessNode, WithNode

ALLOWED_ROOTS = {"contact", "ticket", "agent", "service", "organisation"}
ALLOWED_NODES = (TextNode, VariableNode, IfNode, ForNode, WithNode, FirstOfNode, SpacelessNode, CommentNode, NowNode)
ALLOWED_FILTERS = {
    "default",
    "default_if_none",
    "date",
    "time",
    "upper",
    "lower",
    "title",
    "capfirst",
    "linebreaksbr",
    "length",
    "join",
    "truncatewords",
    "truncatechars",
    "yesno",
    "first",
    "last",
    "floatformat",
    "cut",
}

_engine = Engine(debug=False, libraries={}, autoescape=False)


class TemplateRenderError(Exception):
    """A template that cannot be rendered; the text says why."""


def _walk(nodelist):
    for node in nodelist:
        yield node
        for attr in getattr(node, "child_nodelists", ()):
            child = getattr(node, attr, None)
            if child:
                yield from _walk(child)
        if isinstance(node, IfNode):
            for _, branch in node.conditions_nodelists:
                yield from _walk(branch)


def _compile(source):
    try:
        return _engine.from_string(source or "")
    except TemplateSyntaxError as exc:
        raise TemplateRenderError(str(exc)) from exc


def validate_template(source, roots=ALLOWED_ROOTS):
    """The problems of a template source (empty list when it is acceptable)."""
    try:
        template = _compile(source)
    except TemplateRenderError as exc:
        return [f"does not compile: {exc}"]
    problems = []
    local = set()
    for node in _walk(template.nodelist):
        if not isinstance(node, ALLOWED_NODES):
            problems.append(f"tag not allowed: {node.token.contents.split()[0] if node.token else type(node).__name__}")
            continue
        if isinstance(node, ForNode):
            local.update(node.loopvars)
            local.add("forloop")
        if isinstance(node, WithNode):
            local.update(node.extra_context)
        if isinstance(node, VariableNode):
            expression = node.filter_expression
            for func, _args in expression.filters:
                if func.__name__ not in ALLOWED_FILTERS and getattr(func, "_filter_name", None) not in ALLOWED_FILTERS:
                    problems.append(f"filter not allowed: {func.__name__}")
            var = expression.var
            lookups = getattr(var, "lookups", None)
            if lookups and lookups[0] not in roots and lookups[0] not in local:
                problems.append(f"unknown variable: {'.'.join(lookups)}")
            if lookups and any(part.startswith("_") for part in lookups):
                problems.append(f"private attribute: {'.'.join(lookups)}")
    return sorted(set(problems))


def render_template(source, context, strict=False):
    """Render with the given variables; strict: a missing one is an error."""
    problems = validate_template(source, roots=ALLOWED_ROOTS | set(context))
    if problems:
        raise TemplateRenderError("; ".join(problems))
    template = _compile(source)
    ctx = Context(context, autoescape=False)
    if strict:
        for node in _walk(template.nodelist):
            if isinstance(node, VariableNode) and getattr(node.filter_expression.var, "lookups", None):
                if any(func.__name__.startswith("default") for func, _ in node.filter_expression.filters):
                    continue
                try:
                    value = node.filter_expression.var.resolve(ctx)
                except VariableDoesNotExist:
                    value = None
                if value in (None, ""):
                    name = ".".join(node.filter_expression.var.lookups)
                    raise TemplateRenderError(f"missing value for {{{{ {name} }}}}")
    return template.render(ctx)
