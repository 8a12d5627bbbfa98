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
