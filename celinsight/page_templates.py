"""The pages' templates (jinja2/ at the repository root) are Jinja2's: rendered by Django's
template language they took a quarter to two fifths of each view's CPU under the load test
(py-spy, bench/README.md "Fewer queries a page"). Django's templates remain for the admin and
the signed report's plain text (templates/), whose stored text must not change.

The filters below are Django's, so that a page prints dates, numbers and plurals as it did.
"""
import functools
import math
from datetime import date as date_type
from datetime import datetime as datetime_type
from datetime import time as time_type
from decimal import ROUND_HALF_UP, Decimal

import jinja2
from django.conf import settings
from django.template import defaultfilters
from django.template.backends.utils import csrf_input
from django.templatetags.static import static
from django.urls import reverse
from django.utils import formats
from django.utils.timezone import template_localtime

from accounts.people import display_name
from accounts.security_alerts import recent_alerts_panel
from cases.case_panel import case_panel
from celinsight.url_shapes import reverse_keys


def environment(**options):
    options.update(undefined=jinja2.ChainableUndefined, finalize=printable)
    env = jinja2.Environment(**options)
    env.globals.update(url=url, static=static, case_panel=case_panel,
                       security_alerts_panel=recent_alerts_panel, widthratio=widthratio)
    env.filters.update(
        date=date, person=display_name, default=defaultfilters.default,
        floatformat=floatformat, stringformat=defaultfilters.stringformat,
        pluralize=defaultfilters.pluralize, yesno=defaultfilters.yesno,
        truncatechars=defaultfilters.truncatechars, capfirst=defaultfilters.capfirst,
        linebreaksbr=defaultfilters.linebreaksbr, json_script=defaultfilters.json_script,
    )
    return env


class CsrfField:
    """The CSRF token's hidden field, made once a page (as Django's templates make it).
    Django's Jinja2 backend passes a lazy field that masks the token anew each time a form
    prints it: the screening queue's claim forms made one each."""

    def __init__(self, request):
        self.request = request
        self.html = None

    def __html__(self):
        if self.html is None:
            self.html = csrf_input(self.request)
        return self.html

    __str__ = __html__


def csrf_field_once(request):
    """A context processor of the pages' templates: ``{{ csrf_input }}``, made once."""
    return {"csrf_input": CsrfField(request)}


def url(name, *args, **kwargs):
    if kwargs:
        return reverse(name, args=args or None, kwargs=kwargs)
    return reverse_keys(name, *args)


def date(value, format_string=None):
    """Django's ``date`` filter, in the current time zone as Django's templates show it.

    Formats made of numeric fields and separators only (the pages' "Y-m-d H:i") are written
    by ``str.format``: Django's formatter took 4% of a page worker's CPU under the load test
    (py-spy), splitting the format and looking up the locale's formats on every date."""
    pattern = numeric_date_pattern(format_string)
    if pattern and (type(value) is datetime_type or (
            type(value) is date_type and not TIME_CODES.intersection(format_string))):
        return pattern.format(template_localtime(value))
    return defaultfilters.date(template_localtime(value), format_string)


# Django's date format codes that are zero-padded numbers, as str.format fields.
NUMERIC_DATE_CODES = {"Y": "{0.year:04d}", "m": "{0.month:02d}", "d": "{0.day:02d}",
                      "H": "{0.hour:02d}", "i": "{0.minute:02d}", "s": "{0.second:02d}"}
TIME_CODES = frozenset("His")
SEPARATORS = frozenset(" -:/.,")


@functools.cache
def numeric_date_pattern(format_string):
    """The ``str.format`` pattern of a date format made of NUMERIC_DATE_CODES and
    SEPARATORS alone; None for any other format (Django's formatter writes those)."""
    if not isinstance(format_string, str) or not format_string:
        return None
    if not set(format_string) <= NUMERIC_DATE_CODES.keys() | SEPARATORS:
        return None
    return "".join(NUMERIC_DATE_CODES.get(char, char) for char in format_string)


def floatformat(value, places=-1):
    """Django's ``floatformat``; a float to a fixed number of places without its general
    machinery (locale formats looked up, the number taken apart digit by digit), which
    made the probabilities of a specimen's cells a few percent of its page's CPU. The same
    text: the float's shortest decimal rounded half up, no minus sign on a zero."""
    if not (type(value) is float and type(places) is int and 0 < places <= 12
            and math.isfinite(value) and abs(value) < 1e15 and plain_number_format()):
        return defaultfilters.floatformat(value, places)
    rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return format(rounded.copy_abs() if not rounded else rounded, "f")


def plain_number_format():
    """Numbers printed as Python writes them: no grouping, a point, English only."""
    return (not settings.USE_I18N and not settings.USE_THOUSAND_SEPARATOR
            and settings.DECIMAL_SEPARATOR == ".")


def widthratio(value, max_value, max_width):
    """Django's ``{% widthratio %}``: value / max_value scaled to max_width, rounded."""
    try:
        return round(float(value) / float(max_value) * float(max_width))
    except (TypeError, ValueError, ZeroDivisionError):
        return ""


def printable(value):
    """What ``{{ value }}`` prints: dates and times as Django's templates print them. A
    method printed without being called is a mistake in the template, never shown."""
    if isinstance(value, (date_type, time_type)):
        return formats.localize(template_localtime(value))
    if callable(value) and not hasattr(value, "__html__"):
        raise TypeError(f"a template printed {value!r} without calling it")
    return value
