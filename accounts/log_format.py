"""One JSON object per line for the security log (stdlib only: logging loads it at start-up).

Every value a client controls (a username, a path) is written escaped: control characters
(newline, carriage return, escape sequences, DEL), Unicode line separators and bidirectional
overrides become \\uXXXX, so no value can end a line, start a forged one or reorder what a
reader sees. Each line is printable ASCII; `json.loads` gives back the exact values.
"""
import json
import logging
from datetime import datetime, timezone


def json_line(fields):
    """``fields`` as one line of printable ASCII JSON."""
    # ensure_ascii escapes everything above U+007E and json escapes everything below U+0020;
    # DEL (U+007F) is the one control character JSON leaves as it is.
    return json.dumps(fields, ensure_ascii=True, default=str).replace("\x7f", "\\u007f")


class JsonLinesFormatter(logging.Formatter):
    """{"time", "level", then the event's fields} for records that carry ``security_fields``
    (accounts.security_log), {"time", "level", "message"} for any other record."""

    def format(self, record):
        fields = getattr(record, "security_fields", None) or {"message": record.getMessage()}
        line = {"time": self.iso_time(record), "level": record.levelname, **fields}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json_line(line)

    @staticmethod
    def iso_time(record):
        moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
