"""What an indicator gives back: headline figures and tables, each table
exportable and drawn as a bar chart."""

from dataclasses import dataclass, field


@dataclass
class Figure:
    key: str
    label: str
    value: object  # a number, or None when there is nothing to measure
    unit: str = ""  # "%", "h", "min", "€" or ""
    drill: str = ""  # the drill-down list behind the figure
    better: str = "up"  # which way is good: "up", "down" or "" (neither)
    previous: object = None  # the same figure over the previous period

    @property
    def change(self):
        if not isinstance(self.value, (int, float)) or not isinstance(self.previous, (int, float)):
            return None
        return round(self.value - self.previous, 1)

    @property
    def trend(self):
        """ "good", "bad" or "" for the change since the previous period."""
        change = self.change
        if not change or not self.better:
            return ""
        return "good" if (change > 0) == (self.better == "up") else "bad"


@dataclass
class Table:
    key: str
    title: str
    columns: list
    rows: list
    chart: int | None = None  # index of the column drawn as bars
    links: list = field(default_factory=list)  # per row: drill-down parameters (dict) or None

    def link(self, index):
        return self.links[index] if index < len(self.links) else None


@dataclass
class Indicator:
    key: str
    title: str
    figures: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    compare: bool = True  # False for a state "now" that has no previous period

    def table(self, key):
        return next((table for table in self.tables if table.key == key), None)

    def as_dict(self):
        return {
            "indicator": self.key,
            "title": str(self.title),
            "figures": [
                {
                    "key": f.key,
                    "label": str(f.label),
                    "value": f.value,
                    "unit": f.unit,
                    "previous": f.previous,
                    "change": f.change,
                }
                for f in self.figures
            ],
            "tables": [
                {
                    "key": t.key,
                    "title": str(t.title),
                    "columns": [str(c) for c in t.columns],
                    "rows": [[_plain(v) for v in row] for row in t.rows],
                }
                for t in self.tables
            ],
        }


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (int, float)) or value is None:
        return value
    return str(value)


def share(part, whole):
    """A percentage with one decimal, or None when there is nothing to count."""
    return round(100 * part / whole, 1) if whole else None


def rounded(value, digits=1):
    return round(value, digits) if value is not None else None
