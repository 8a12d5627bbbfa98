"""The patient's trend drawn as a small SVG line chart, server-side, with no JavaScript.

Both series are shares between 0 and 1 (triage score, abnormal-cell share), so one
vertical axis serves both; the horizontal axis is the collection date.
"""
from dataclasses import dataclass, field

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 12, 36
SERIES = (
    ("triage", "Triage score", lambda entry: entry.specimen.triage_score),
    ("abnormal", "Abnormal-cell share", lambda entry: entry.abnormal_share),
)


@dataclass
class Series:
    key: str
    label: str
    points: list = field(default_factory=list)  # (x, y, value, accession)

    @property
    def polyline(self):
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in self.points)


def x_positions(dates):
    """Pixel x of each date on a time axis; one date, or one day, sits in the middle."""
    first, last = min(dates), max(dates)
    span = (last - first).days
    plot_width = WIDTH - LEFT - RIGHT
    if not span:
        return [LEFT + plot_width / 2 for _ in dates]
    return [LEFT + plot_width * (date - first).days / span for date in dates]


def date_labels(dates, xs, most=6):
    """(x, date, anchor) for a few distinct dates, the first and last always, so labels never
    overlap; the end labels are anchored inwards to stay inside the chart."""
    distinct = sorted(dict(zip(dates, xs)).items())
    step = max(1, -(-(len(distinct) - 1) // (most - 1)))
    kept = distinct[::step]
    if kept[-1] != distinct[-1]:
        kept[-1] = distinct[-1]
    anchors = ["middle"] * len(kept)
    if len(kept) > 1:
        anchors[0], anchors[-1] = "start", "end"
    return [(x, date, anchor) for (date, x), anchor in zip(kept, anchors)]


def y_position(value):
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value)


def trend_chart(entries):
    """Geometry for templates/patients/_trend.html; None when nothing is scored yet."""
    dates = [entry.specimen.collected_on for entry in entries]
    if not dates:
        return None
    xs = x_positions(dates)
    series = []
    for key, label, value_of in SERIES:
        line = Series(key, label)
        for x, entry in zip(xs, entries):
            value = value_of(entry)
            if value is not None:
                line.points.append((x, y_position(value), value, entry.specimen.accession_number))
        series.append(line)
    if not any(line.points for line in series):
        return None
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT,
        "series": series,
        "gridlines": [(value, y_position(value)) for value in (0, 0.25, 0.5, 0.75, 1)],
        "dates": date_labels(dates, xs),
        "date_y": HEIGHT - BOTTOM + 16,
    }
