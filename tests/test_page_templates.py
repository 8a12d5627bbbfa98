"""The pages' Jinja2 environment prints what Django's templates printed."""
from datetime import datetime, timezone as dt_timezone

import pytest
from django.template import engines


def render(source, **context):
    return engines["jinja2"].from_string(source).render(context)


def test_dates_are_shown_in_the_current_time_zone(settings):
    settings.TIME_ZONE = "Europe/Athens"
    noon_utc = datetime(2026, 6, 1, 12, 0, tzinfo=dt_timezone.utc)
    assert render('{{ at|date("Y-m-d H:i") }}', at=noon_utc) == "2026-06-01 15:00"


def test_django_default_replaces_empty_values_too():
    assert render('{{ ""|default("none") }} {{ missing|default("none") }}') == "none none"


def test_a_method_printed_without_being_called_is_an_error():
    with pytest.raises(TypeError, match="without calling it"):
        render("{{ text.upper }}", text="abc")


def test_floatformat_writes_what_djangos_does():
    import random

    from django.template import defaultfilters

    from celinsight.page_templates import floatformat
    rng = random.Random(7)
    values = [0.0625, 0.0005, 2.5, -0.0004, -0.0, 0.0, 1e-7, 12345678.9, -3.14159, 0.1 + 0.2,
              0.9995, 1.0, 99.99951]
    values += [rng.uniform(-1, 1) * 10 ** rng.randint(-6, 9) for _ in range(3000)]
    values += [round(rng.random(), 4) for _ in range(1000)]  # ties at the 3rd place
    for places in (1, 2, 3, 4):
        for value in values:
            assert floatformat(value, places) == defaultfilters.floatformat(value, places), \
                (value, places)
    for value, places in [(3, 3), ("0.5", 2), (None, 3), (float("nan"), 3), (0.5, -2), (0.5, "2g")]:
        assert floatformat(value, places) == defaultfilters.floatformat(value, places)


def test_the_date_filter_writes_what_djangos_does(settings):
    from datetime import date

    from django.template import defaultfilters
    from django.utils.timezone import template_localtime

    from celinsight.page_templates import date as date_filter
    settings.TIME_ZONE = "America/St_Johns"  # a half-hour offset
    values = [datetime(2026, 12, 3, 23, 45, 7, tzinfo=dt_timezone.utc),
              datetime(5, 1, 2, 3, 4, 5, tzinfo=dt_timezone.utc), datetime(2026, 3, 8, 6, 1),
              date(2026, 2, 9), date(9, 10, 11), None, "", "2026-01-01"]
    formats = ["Y-m-d", "Y-m-d H:i", "Y-m-d H:i:s", "m-d", "d/m/Y", "H:i", "N j, Y", "", None]
    for value in values:
        for format_string in formats:
            try:
                expected = defaultfilters.date(template_localtime(value), format_string)
            except TypeError:  # a time format for a date
                with pytest.raises(TypeError):
                    date_filter(value, format_string)
                continue
            assert date_filter(value, format_string) == expected, (value, format_string)
