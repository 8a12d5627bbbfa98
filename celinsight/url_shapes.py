"""``reverse`` for the pages' links, each route's shape worked out once.

A list page links every row (a specimen's page, its review, its patient), and Django's
``reverse`` matched the route's pattern against the arguments each time: 30-40 links a page,
about 5% of the pages' CPU (bench/README.md, "Compiled once"). A route reversed with keys
(non-negative integers, which every path converter here prints as digits) is reversed once
with stand-in keys, and then only has the keys put in their places.
"""
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

_STAND_IN = 7_310_000_001  # larger than any key, so found in the path only where put
_shapes = {}


def reverse_keys(name, *keys):
    """``reverse(name, args=keys)`` for keys that are non-negative integers (or none)."""
    for key in keys:
        if type(key) is not int or key < 0:
            return reverse(name, args=keys or None)
    shape_key = (name, len(keys), get_script_prefix())
    pieces = _shapes.get(shape_key)
    if pieces is None:
        pieces = _shapes[shape_key] = shape_of(name, len(keys))
    if not pieces:
        return reverse(name, args=keys or None)
    path = [pieces[0]]
    for key, piece in zip(keys, pieces[1:]):
        path += (str(key), piece)
    return "".join(path)


def shape_of(name, count):
    """The route's path split around its keys, or () where a stand-in is not printed once,
    as itself, in order (a converter that formats keys, a pattern they cannot match)."""
    stand_ins = [str(_STAND_IN + number) for number in range(count)]
    if get_urlconf() is not None:  # a request's own URLconf: not one this module knows
        return ()
    try:
        path = reverse(name, args=[int(stand_in) for stand_in in stand_ins] or None)
    except NoReverseMatch:
        return ()
    pieces = []
    for stand_in in stand_ins:
        if path.count(stand_in) != 1:
            return ()
        before, path = path.split(stand_in)
        pieces.append(before)
    return (*pieces, path)
