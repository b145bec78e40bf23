"""The managers' dashboard, the tickets behind a figure, exports and the
JSON API: parse the filters, check the role, call compute, render."""

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from contacts.channels import Channel
from contacts.indicators import charts, exports
from contacts.indicators.access import IsManager, manager_required, profile_of
from contacts.indicators.compute import INDICATORS, Scope, compute, compute_all
from contacts.indicators.drilldown import tickets_behind
from contacts.indicators.filters import FilterError, parse_filters
from kb.models import Organisation, Service, Topic

PAGE_SIZE = 50
FIGURES = "chiffres"


def _url(name, params, *args):
    return f"{reverse(name, args=args)}?{urlencode(params)}"


def _choices(request, filters):
    """The values the filter form offers, within what the user may see."""
    user = request.user
    organisation = filters.organisation if filters else None
    if not user.is_superuser:
        organisation = profile_of(user).organisation
    scope = {"organisation": organisation} if organisation is not None else {}
    return {
        "organisations": Organisation.objects.order_by("name") if user.is_superuser else [],
        "services": Service.objects.filter(**scope).order_by("name"),
        "topics": Topic.objects.filter(**scope).order_by("title"),
        "channels": Channel.choices,
    }


def _parse(request):
    return parse_filters(request.GET, request.user)


def _section(indicator, params):
    figures = [
        {
            "figure": figure,
            "url": _url("indicators:tickets", {**params, "liste": figure.drill}) if figure.drill else "",
        }
        for figure in indicator.figures
    ]
    tables = []
    for table in indicator.tables:
        rows = []
        for index, row in enumerate(table.rows):
            link = table.link(index)
            url = _url("indicators:tickets", {**params, "liste": "created", **link}) if link else ""
            rows.append({"cells": row, "url": url})
        tables.append(
            {
                "table": table,
                "rows": rows,
                "chart": charts.bar_chart(table, f"chart-{indicator.key}-{table.key}"),
                "csv": _url("indicators:export", params, indicator.key, table.key, "csv"),
                "xlsx": _url("indicators:export", params, indicator.key, table.key, "xlsx"),
            }
        )
    return {
        "indicator": indicator,
        "figures": figures,
        "tables": tables,
        "figures_csv": _url("indicators:export", params, indicator.key, FIGURES, "csv"),
        "figures_xlsx": _url("indicators:export", params, indicator.key, FIGURES, "xlsx"),
        "api": _url("indicators:api", params, indicator.key),
    }


@require_GET
@manager_required
def dashboard(request):
    try:
        filters = _parse(request)
    except FilterError as exc:
        context = {"errors": exc.messages, "values": request.GET, **_choices(request, None)}
        return render(request, "indicators/dashboard.html", context, status=400)
    with timezone.override(filters.tz):
        indicators = compute_all(Scope(request.user, filters))
        params = filters.as_params()
        previous = filters.previous()
        context = {
            "filters": filters,
            "previous": previous,
            "values": params,
            "sections": [_section(indicator, params) for indicator in indicators],
            "xlsx_all": _url("indicators:export_all", params),
            **_choices(request, filters),
        }
        return render(request, "indicators/dashboard.html", context)


@require_GET
@manager_required
def tickets(request):
    try:
        filters = _parse(request)
        scope = Scope(request.user, filters)
        title, queryset = tickets_behind(scope, request.GET.get("liste", "created"), request.GET)
    except FilterError as exc:
        return render(request, "indicators/tickets.html", {"errors": exc.messages}, status=400)
    queryset = queryset.select_related("service", "topic", "contact").order_by("-created_at", "-pk")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    params = {key: value for key, value in request.GET.items() if key != "page"}
    with timezone.override(filters.tz):
        return render(
            request,
            "indicators/tickets.html",
            {
                "title": title,
                "filters": filters,
                "page": page,
                "back": _url("indicators:dashboard", filters.as_params()),
                "next_url": _url("indicators:tickets", {**params, "page": page.next_page_number()})
                if page.has_next()
                else "",
                "previous_url": _url("indicators:tickets", {**params, "page": page.previous_page_number()})
                if page.has_previous()
                else "",
            },
        )


def _sheets(indicator, table_key):
    if table_key == FIGURES:
        return [(indicator.title, list(exports.figure_rows(indicator)))]
    table = indicator.table(table_key)
    if table is None:
        raise Http404("no such table")
    return [(table.title, list(exports.table_rows(table)))]


@require_GET
@manager_required
def export(request, key, table, fmt):
    if key not in INDICATORS or fmt not in ("csv", "xlsx"):
        raise Http404("no such export")
    try:
        filters = _parse(request)
    except FilterError as exc:
        return HttpResponse("\n".join(exc.messages), status=400, content_type="text/plain; charset=utf-8")
    with timezone.override(filters.tz):
        indicator = compute(Scope(request.user, filters), key)
        sheets = _sheets(indicator, table)
    name = f"indicateurs-{key}-{table}-{filters.start}-{filters.end}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(exports.as_csv(sheets[0][1]), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            exports.as_xlsx(sheets),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@manager_required
def export_all(request):
    """Every figure and table of the dashboard in one workbook."""
    try:
        filters = _parse(request)
    except FilterError as exc:
        return HttpResponse("\n".join(exc.messages), status=400, content_type="text/plain; charset=utf-8")
    with timezone.override(filters.tz):
        sheets = []
        for indicator in compute_all(Scope(request.user, filters)):
            sheets.append((indicator.title, list(exports.figure_rows(indicator))))
            sheets.extend((table.title, list(exports.table_rows(table))) for table in indicator.tables)
    response = HttpResponse(
        exports.as_xlsx(sheets), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="indicateurs-{filters.start}-{filters.end}.xlsx"'
    return response


class IndicatorAPI(APIView):
    """One indicator as JSON, with the filters of the dashboard (du, au,
    organisation, service, canal, sujet, jours) and the previous period."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsManager]
    schema = None  # not part of the public API schema (/api/schema/): agents' session only

    def get(self, request, key):
        if key not in INDICATORS:
            return Response({"errors": [_("Unknown indicator “%(value)s”.") % {"value": key}]}, status=404)
        try:
            filters = parse_filters(request.query_params, request.user)
        except FilterError as exc:
            return Response({"errors": exc.messages}, status=400)
        with timezone.override(filters.tz):
            indicator = compute(Scope(request.user, filters), key)
            return Response(
                {
                    "period": {"start": filters.start, "end": filters.end},
                    "previous_period": {"start": filters.previous().start, "end": filters.previous().end},
                    **indicator.as_dict(),
                }
            )
