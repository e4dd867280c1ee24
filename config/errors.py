"""Errors raised by services, which pages and the API turn into clear 4xx answers.

Field-level problems use Django's ValidationError (a dict of field → messages); these are for
whole-request refusals such as acting on an entry in the wrong state.
"""


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class StateConflict(DomainError):
    """The object is not in a state that allows this action (editing a submitted entry)."""

    status_code = 409
    code = "conflict"


class ActionForbidden(DomainError):
    """The user may not do this yet or at all (submitting before accepting the agreement)."""

    status_code = 403
    code = "forbidden"
