"""API errors are JSON, including those Django raises while reading the request body."""
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from imaging.validation import megabytes



def too_big():
    return (f"The request body is larger than the API accepts for JSON or form fields "
            f"({megabytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}); send less, or send images "
            f"as multipart files to /api/specimens/<id>/images/.")

TOO_MANY = "The request has more fields or files than the API accepts in one request; split it."


def json_exception_handler(error, context):
    """DRF's handler, and a JSON 400 for a body Django refuses to read (which DRF would let
    through to Django's HTML 400 page)."""
    if isinstance(error, RequestDataTooBig):
        return Response({"detail": too_big()}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(error, (TooManyFieldsSent, TooManyFilesSent)):
        return Response({"detail": TOO_MANY}, status=status.HTTP_400_BAD_REQUEST)
    return exception_handler(error, context)
