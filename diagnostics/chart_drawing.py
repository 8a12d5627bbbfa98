"""The specimen page's two charts as SVG geometry, drawn by the server.

They were drawn in the browser with Plotly: 4.8 MB of JavaScript (about 1.4 MB gzipped) on
every first visit, for five bars and a histogram. The template (imaging/_charts.html) draws
these rectangles; the numbers stay readable in each bar's title and the charts' JSON.
"""
from dataclasses import dataclass

WIDTH, HEIGHT = 400, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 10, 40  # margins for the axis labels
CONFIDENCE_BIN_WIDTH = 0.05


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    x: float
    y: float
    width: float
    height: float
    abnormal: bool = False
    reviewed: int = 0  # of ``count``, the cells a reviewer put in this class
    overridden: int = 0  # of those, the ones a reviewer moved here from the model's class

    @property
    def label_x(self):
        return round(self.x + self.width / 2, 1)


def bars(labelled_counts, abnormal=(), reviewed=(), overridden=()):
    """Bars for (label, count) pairs, side by side across the plot, scaled to the largest;
    ``reviewed`` and ``overridden`` (per bar, where given) say how many a reviewer set."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(labelled_counts), 1)
    tallest = max((count for _, count in labelled_counts), default=0) or 1
    drawn = []
    for index, (label, count) in enumerate(labelled_counts):
        height = plot_height * count / tallest
        drawn.append(Bar(label, count, x=round(LEFT + index * slot + slot * 0.05, 1),
                         y=round(TOP + plot_height - height, 1), width=round(slot * 0.9, 1),
                         height=round(height, 1), abnormal=label in abnormal,
                         reviewed=reviewed[index] if reviewed else 0,
                         overridden=overridden[index] if overridden else 0))
    return drawn


def confidence_bins(confidences):
    """(label, count) of the confidences in bins of CONFIDENCE_BIN_WIDTH from 0 to 1."""
    bin_count = round(1 / CONFIDENCE_BIN_WIDTH)
    counts = [0] * bin_count
    for confidence in confidences:
        counts[min(int(confidence / CONFIDENCE_BIN_WIDTH), bin_count - 1)] += 1
    return [(f"{index * CONFIDENCE_BIN_WIDTH:.2f}–{(index + 1) * CONFIDENCE_BIN_WIDTH:.2f}", count)
            for index, count in enumerate(counts)]


def chart_drawing(charts):
    """The bars of both charts, from presentation.specimen_charts' data."""
    class_bars = bars(list(zip(charts["classes"], charts["counts"])), charts["abnormal_classes"],
                      charts.get("reviewed", ()), charts.get("overridden", ()))
    return {"class_bars": class_bars,
            "confidence_bars": bars(confidence_bins(charts["confidences"])),
            "class_max": max(charts["counts"], default=0),
            "confidence_max": max((count for _, count in confidence_bins(charts["confidences"])),
                                  default=0),
            "width": WIDTH, "height": HEIGHT, "axis_y": HEIGHT - BOTTOM, "left": LEFT, "top": TOP}
