"""The pages' links, each route's shape worked out once, are Django's reverse() exactly."""
import pytest
from django.urls import NoReverseMatch, reverse, set_script_prefix

from celinsight.page_templates import url
from celinsight.url_shapes import reverse_keys

ROUTES = [("diagnostics:worklist", 0), ("cases:queue", 0), ("patients:detail", 1),
          ("imaging:specimen", 1), ("diagnostics:review", 1), ("cases:claim", 1),
          ("imaging:field", 2), ("diagnostics:review_cell", 2), ("imaging:image_file", 1)]


@pytest.mark.parametrize("name, count", ROUTES)
def test_every_route_the_pages_link_reverses_as_django_does(name, count):
    for keys in ([0] * count, [7] * count, list(range(12345, 12345 + count)), [10**12] * count):
        assert reverse_keys(name, *keys) == reverse(name, args=keys or None)
        assert url(name, *keys) == reverse(name, args=keys or None)


def test_a_script_prefix_is_kept_apart():
    try:
        set_script_prefix("/lab/")
        assert reverse_keys("patients:detail", 5) == "/lab/patients/5/"
    finally:
        set_script_prefix("/")
    assert reverse_keys("patients:detail", 5) == "/patients/5/"


def test_anything_but_keys_goes_to_django():
    with pytest.raises(NoReverseMatch):
        reverse_keys("patients:detail", -1)
    with pytest.raises(NoReverseMatch):
        reverse_keys("patients:detail", "abc")
    with pytest.raises(NoReverseMatch):
        reverse_keys("patients:detail", 1, 2)  # the wrong number of keys
    assert reverse_keys("patients:detail", "12") == "/patients/12/"
    assert url("patients:detail", patient_id=3) == "/patients/3/"
