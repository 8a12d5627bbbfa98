"""One way for every page to read ``?page=``: as the API does (DRF's PageNumberPagination).

A page number that is not a whole number, below 1 or past the last page is a 404, never a
500 and never a silently different page; no ``page`` (or an empty one) is the first page.
"""
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404


def page_or_404(request, object_list, per_page, paginator_class=Paginator, parameter="page"):
    """The page of ``object_list`` that ``request.GET[parameter]`` names, or Http404.

    ``parameter`` lets one page hold two lists paged on their own (a specimen's table and
    its gallery)."""
    number = request.GET.get(parameter) or 1
    try:
        return paginator_class(object_list, per_page).page(number)
    except InvalidPage as error:
        raise Http404(f"No page {number!r}: {error}") from None
