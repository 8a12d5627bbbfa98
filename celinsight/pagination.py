"""One way for every page to read ``?page=``: as the API does (DRF's PageNumberPagination).

A page number that is not a whole number, below 1 or past the last page is a 404, never a
500 and never a silently different page; no ``page`` (or an empty one) is the first page.
"""
from django.core.paginator import EmptyPage, InvalidPage, PageNotAnInteger, Paginator
from django.http import Http404

from celinsight.compiled_queries import rows_by_key

MAX_OFFSET = 2**62  # SQLite and PostgreSQL take a signed 64-bit OFFSET + LIMIT


def page_or_404(request, object_list, per_page, paginator_class=Paginator, parameter="page"):
    """The page of ``object_list`` that ``request.GET[parameter]`` names, or Http404.

    ``parameter`` lets one page hold two lists paged on their own (a specimen's table and
    its gallery)."""
    number = request.GET.get(parameter) or 1
    try:
        return paginator_class(object_list, per_page).page(number)
    except InvalidPage as error:
        raise Http404(f"No page {number!r}: {error}") from None


class IndexOrderPaginator(Paginator):
    """A page in two narrow queries for a list whose order an index serves (the queues and
    the worklist, by the specimens' triage order): the page's keys, read along that index and
    stopping at the page, then those rows with their related rows; the count is a query of
    its own on the list's filter alone.

    Counting in the keys' query (COUNT(*) OVER ()) made it join and sort every row: the
    screening queue with 2,700 cases waiting took 14 ms of PostgreSQL, the worklist with
    2,464 specimens awaiting 86 ms; 1 ms for the keys and 1 ms for the count, and 4 + 16 ms,
    this way. Sorting rows already joined to everything the page shows made the queue's query
    join all its cases' requisitions, patients and users. The rows are read by key alone
    (``rows_by_key``): their keys came through the list's filter already. A page number past
    the rows falls back to Paginator (a count, then EmptyPage); a number too large for the
    database's OFFSET (4611686018427387904 overflowed SQLite) never reaches it."""

    def page(self, number):
        number = self.checked(number)
        bottom = (number - 1) * self.per_page
        keys = list(self.object_list.values_list("pk", flat=True)[bottom:bottom + self.per_page])
        if not keys:
            return super().page(number)
        rows = rows_by_key(self.object_list, keys)
        # A row deleted between the two queries is left out of the page.
        return self._get_page([rows[pk] for pk in keys if pk in rows], number, self)

    def checked(self, number):
        """A whole number from 1 to the largest page an OFFSET can reach, else InvalidPage."""
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1 or (number - 1) * self.per_page > MAX_OFFSET:
            raise EmptyPage("That page contains no results")
        return number


class CountedPaginator(Paginator):
    """A Paginator told its list's length, where the page counted it with other figures in
    one query (the review page's cells: diagnostics.cell_summary)."""

    def __init__(self, object_list, per_page, count, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.count = count  # Paginator.count is a cached property: this is its value
