"""File names as users see them: an uploaded name is shown on pages, in the API and in the
download's Content-Disposition, so it must read as what it is.

Bidirectional control characters reorder the text around them: "x\\u202eexe.png" displays
as "xgnp.exe". Each is replaced with U+FFFD, so the name still shows that something was
there, and no longer lies about its extension.
"""
import re

BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
REPLACEMENT = "\ufffd"


def neutralise_bidi(name):
    """The name with every bidirectional control character replaced by U+FFFD."""
    return BIDI_CONTROLS.sub(REPLACEMENT, name)
