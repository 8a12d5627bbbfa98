"""How a person is named on every page: the full name, else the username."""


def display_name(user):
    """``user``'s full name, falling back to the username; "" for no user (a deleted one)."""
    if user is None:
        return ""
    return user.get_full_name().strip() or user.get_username()
