"""Logging that an operator can read: a refused request is one line, a crash keeps its traceback."""

import logging


class ClientErrorsInOneLine(logging.Filter):
    """Drop the traceback Django attaches to the log line of a 4xx answer.

    Django logs every PermissionDenied (403), Http404 and BadRequest with the exception that
    caused it, so a contributor opening a page they may not see printed a traceback, which an
    operator reads as a crash. The answer is the user's mistake, not the server's: "Forbidden
    (Permission denied): /exports/" says all there is. 5xx records keep their traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
