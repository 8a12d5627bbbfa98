"""The administrators' dashboard: throughput, processing time, class mix, override rates.

Every figure is an aggregate query (a fixed number of them, however many results exist);
no result row is loaded into Python.
"""
import math
from datetime import datetime, time, timedelta

from django.db.models import Avg, Count, Max, Q
from django.db.models.functions import TruncDate
from django.shortcuts import render
from django.utils import timezone

from accounts.decorators import administrator_required
from diagnostics.models import CellResult

Status = CellResult.Status
DAYS = 30
CHART_WIDTH, CHART_HEIGHT, CHART_BOTTOM = 720, 180, 24


def window_start(days=DAYS):
    """Midnight (local time) at the start of the first of the last ``days`` days."""
    today = timezone.localdate()
    first_day = today - timedelta(days=days - 1)
    return first_day, timezone.make_aware(datetime.combine(first_day, time.min))


def processed_per_day(first_day, start):
    """[(day, done, failed)] for every day of the window, days without work included."""
    rows = (
        CellResult.objects.filter(status__in=[Status.DONE, Status.FAILED], finished_at__gte=start)
        .annotate(day=TruncDate("finished_at"))
        .values("day")
        .annotate(done=Count("pk", filter=Q(status=Status.DONE)),
                  failed=Count("pk", filter=Q(status=Status.FAILED)))
        .order_by("day")
    )
    by_day = {row["day"]: (row["done"], row["failed"]) for row in rows}
    days = [first_day + timedelta(days=offset) for offset in range(DAYS)]
    return [(day, *by_day.get(day, (0, 0))) for day in days]


def per_day_chart(per_day):
    """Bar geometry for the per-day SVG: one bar per day, failures stacked on top."""
    tallest = max((done + failed for _, done, failed in per_day), default=0) or 1
    slot = CHART_WIDTH / len(per_day)
    plot_height = CHART_HEIGHT - CHART_BOTTOM
    bars = []
    last = len(per_day) - 1
    for index, (day, done, failed) in enumerate(per_day):
        done_height = plot_height * done / tallest
        failed_height = plot_height * failed / tallest
        bars.append({
            "day": day, "done": done, "failed": failed, "x": index * slot + 1, "width": slot - 2,
            "done_y": plot_height - done_height, "done_height": done_height,
            "failed_y": plot_height - done_height - failed_height, "failed_height": failed_height,
            "labelled": (last - index) % 7 == 0,  # weekly, ending today
            "label_x": index * slot + (slot if index == last else 0),
            "label_anchor": "end" if index == last else "start",
        })
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "bars": bars, "tallest": tallest,
            "label_y": CHART_HEIGHT - 6, "slot": slot}


def processing_time(start):
    """Count, mean, 95th percentile (nearest rank) and longest seconds per classified image."""
    timed = CellResult.objects.filter(
        status=Status.DONE, finished_at__gte=start, seconds_taken__isnull=False
    )
    stats = timed.aggregate(count=Count("pk"), mean=Avg("seconds_taken"), longest=Max("seconds_taken"))
    stats["p95"] = None
    if stats["count"]:
        rank = math.ceil(0.95 * stats["count"]) - 1
        stats["p95"] = timed.order_by("seconds_taken").values_list("seconds_taken", flat=True)[rank]
    return stats


def class_mix(start):
    """[(class, cells, share)] of the cells classified in the window, commonest first."""
    rows = list(
        CellResult.objects.filter(status=Status.DONE, finished_at__gte=start)
        .values_list("predicted_class").annotate(cells=Count("pk")).order_by("-cells", "predicted_class")
    )
    total = sum(cells for _, cells in rows)
    return [(name, cells, cells / total) for name, cells in rows]


def override_rates():
    """Per model version, all time: cells classified, flagged, reviewed and overridden."""
    rows = (
        CellResult.objects.filter(status=Status.DONE)
        .values("model_version")
        .annotate(
            classified=Count("pk"),
            flagged=Count("pk", filter=Q(refer_to_cytologist=True)),
            reviewed=Count("review"),
            overridden=Count("review", filter=Q(review__accepted=False)),
        )
        .order_by("model_version")
    )
    for row in rows:
        row["override_rate"] = row["overridden"] / row["reviewed"] if row["reviewed"] else None
        yield row


@administrator_required
def dashboard(request):
    first_day, start = window_start()
    per_day = processed_per_day(first_day, start)
    context = {
        "days": DAYS,
        "first_day": first_day,
        "per_day": per_day,
        "per_day_chart": per_day_chart(per_day),
        "processed_total": sum(done for _, done, _ in per_day),
        "failed_total": sum(failed for _, _, failed in per_day),
        "timing": processing_time(start),
        "class_mix": class_mix(start),
        "override_rates": list(override_rates()),
    }
    return render(request, "diagnostics/dashboard.html", context)
