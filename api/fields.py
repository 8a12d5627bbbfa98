"""Input fields stricter than DRF's defaults."""
from rest_framework import serializers


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A record's id as a whole number (or a string of digits, as forms send it), never
    ``true``: DRF's field looks ``True`` up as pk=1, so "patient": true chose patient 1."""

    default_error_messages = {
        "incorrect_type": "Incorrect type. Expected an id (a whole number), received {data_type}.",
    }

    def to_internal_value(self, data):
        is_digits = isinstance(data, str) and data.isascii() and data.isdecimal()
        if isinstance(data, bool) or not (type(data) is int or is_digits):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)
