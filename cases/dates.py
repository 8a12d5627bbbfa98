"""One check for the dates a person records: none may lie in the future."""
from django import forms
from django.utils import timezone


def not_in_future(value, what):
    """``value`` unless it is after today (the server's local date): then a form error."""
    if value is not None and value > timezone.localdate():
        raise forms.ValidationError(
            f"The {what} {value:%Y-%m-%d} is in the future; enter the date it happened.")
    return value
