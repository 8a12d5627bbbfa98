"""JSON Lines as Django's `jsonl` serializer writes them, but with every timestamp exact.

Django's JSON encoder cuts datetimes to milliseconds, so a dump and load would change every
timestamp (audit entries, uploads, sign-offs) below the millisecond. This one keeps
microseconds; reading back is Django's own (registered as the format "celinsight-jsonl" in
settings.SERIALIZATION_MODULES, so dumpdata and loaddata use it).
"""
import datetime

from django.core.serializers import jsonl
from django.core.serializers.json import DjangoJSONEncoder


class ExactJSONEncoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, (datetime.datetime, datetime.time)):
            return o.isoformat()
        return super().default(o)


class Serializer(jsonl.Serializer):
    def _init_options(self):
        super()._init_options()
        self.json_kwargs["cls"] = ExactJSONEncoder


Deserializer = jsonl.Deserializer
