"""A storage like S3's for tests: files kept in memory and no local paths to them."""
import os

from django.core.files.storage import InMemoryStorage
from django.utils._os import safe_join


class PathlessStorage(InMemoryStorage):
    def path(self, name):  # InMemoryStorage answers a path under MEDIA_ROOT that is not there
        raise NotImplementedError("This backend doesn't support absolute paths.")

    def _relative_path(self, name):  # what InMemoryStorage does with its path()
        return os.path.relpath(safe_join(self.location, name), self.location)
