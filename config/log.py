"""Logging that an operator can read: a refused request is one line, a crash keeps its traceback."""

import copy
import logging


class ConsoleFormatter(logging.Formatter):
    """Leave out the traceback Django attaches to the log line of a 4xx answer.

    Django logs every PermissionDenied (403), Http404 and BadRequest with the exception that
    caused it, so a contributor opening a page they may not see printed a traceback, which an
    operator reads as a crash. The answer is the user's mistake, not the server's: "Forbidden
    (Permission denied): /exports/" says all there is. 5xx records keep their traceback, and the
    record itself is left whole for any other handler (error mail, an error tracker).
    """

    def format(self, record: logging.LogRecord) -> str:
        status = getattr(record, "status_code", None)
        if record.exc_info and status is not None and 400 <= status < 500:
            record = copy.copy(record)
            record.exc_info = record.exc_text = None
        return super().format(record)
