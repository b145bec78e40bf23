"""Bar charts drawn on the server as inline SVG: no script, no CDN; the same
numbers are in the table beside each chart."""

from django.utils.formats import localize
from django.utils.html import escape
from django.utils.safestring import mark_safe

WIDTH = 640
LABEL_WIDTH = 200
VALUE_WIDTH = 70
ROW = 22
BAR = 15


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def bar_chart(table, chart_id):
    """A horizontal bar chart of ``table``'s chart column against its first
    column, as an SVG element labelled by its title (None without data)."""
    if table.chart is None or not table.rows:
        return None
    values = [_number(row[table.chart]) for row in table.rows]
    top = max(values, default=0)
    if top <= 0:
        return None
    space = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = ROW * len(table.rows) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="{chart_id}" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">',
        f'<title id="{chart_id}">{escape(table.title)} – {escape(table.columns[table.chart])}</title>',
    ]
    for index, (row, value) in enumerate(zip(table.rows, values, strict=True)):
        y = index * ROW + 2
        label = " – ".join(str(cell) for cell in row[: min(table.chart, 2)]) or str(row[0])
        if len(label) > 30:
            label = label[:29] + "…"
        length = round(space * value / top, 1)
        parts.append(
            f'<text class="label" x="{LABEL_WIDTH - 6}" y="{y + BAR - 3}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR}"></rect>'
            f'<text class="value" x="{LABEL_WIDTH + length + 4}" y="{y + BAR - 3}">{escape(localize(value))}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text escaped above)
