from django import template

from accounts.people import display_name

register = template.Library()


@register.filter
def person(user):
    """``{{ sign_off.signed_by|person }}``: the name a page shows for a user."""
    return display_name(user)
