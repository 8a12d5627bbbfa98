from django.db.models import Count

from diagnostics.models import CellResult


def specimen_progress(specimen):
    """Counts of the specimen's results by status, and whether work is still pending.

    ``referred`` counts the classified cells flagged "refer to cytologist".
    """
    results = CellResult.objects.filter(image__specimen=specimen)
    counts = dict(
        results
        .values_list("status")
        .annotate(count=Count("pk"))
        .values_list("status", "count")
    )
    progress = {status: counts.get(status, 0) for status in CellResult.Status.values}
    progress["total"] = sum(counts.values())
    progress["referred"] = results.filter(status=CellResult.Status.DONE,
                                          refer_to_cytologist=True).count()
    progress["finished"] = progress["done"] + progress["failed"]
    progress["pending"] = progress["queued"] + progress["running"]
    progress["percent"] = (
        round(100 * progress["finished"] / progress["total"]) if progress["total"] else 100
    )
    return progress
