import io
import json
import logging

import pytest
from django.core.cache import cache


class Collect(logging.Handler):
    """Keeps the fields of each security-log record, as the file would hold them."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


def security_file_formatter():
    """The formatter of the handler that writes var/security.log."""
    logger = logging.getLogger("celinsight.security")
    return next(handler.formatter for handler in logger.handlers
                if isinstance(handler, logging.FileHandler))


@pytest.fixture
def security_lines():
    """The security log's records as dicts: {"event": ..., "user": ..., "ip": ..., "path": ...}."""
    handler = Collect()
    handler.setFormatter(security_file_formatter())
    logger = logging.getLogger("celinsight.security")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


@pytest.fixture
def security_log_text():
    """What the security log file receives, as text."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(security_file_formatter())
    logger = logging.getLogger("celinsight.security")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate limits and alert counts live in the cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()
