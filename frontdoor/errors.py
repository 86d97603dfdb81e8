"""Errors the interfaces show to people. Each says what was wrong and what to do next."""

from __future__ import annotations

from models import errors as kinds


class FrontdoorError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(FrontdoorError):
    status = 404


class Duplicate(FrontdoorError):
    status = 409


class InvalidInput(FrontdoorError):
    """The input is not valid: one entry per field in `errors` ({"field", "message"})."""

    status = 422

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []

    @classmethod
    def of(cls, errors: list[dict[str, str]]) -> InvalidInput:
        return cls("the input is not valid: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors)


def number_errors(field: str, value: int, unit: str, low: int, high: int) -> list[dict[str, str]]:
    """The error of a whole number from outside that is not from `low` to `high` (for
    `InvalidInput.of`), or none: "400 is out of range: give a number of days from 1 to 90"."""
    if not low <= value <= high:
        return [{"field": field, "message": f"{value} is out of range: give a number of {unit} from {low} to {high}"}]
    return []


def days_errors(days: int, most: int, field: str = "days") -> list[dict[str, str]]:
    """The error of a number of days back (today included) that is not from 1 to `most`, or none."""
    return number_errors(field, days, "days", 1, most)


class StillWorking(FrontdoorError):
    """The action was taken and is still being carried out (202): see the case for its end."""

    status = 202

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


class NotAnswering(FrontdoorError):
    """Temporal or the workers did not answer in time; the action may not have been taken (503)."""

    status = 503


class Unauthenticated(FrontdoorError):
    status = 401


class Refused(FrontdoorError):
    """A workflow refused an action: wrong role (403), wrong stage (409) or invalid (422)."""

    STATUS = {kinds.PERMISSION_DENIED: 403, kinds.SIGNATURE_REFUSED: 403, kinds.RESTRICTED: 403, kinds.WRONG_STAGE: 409,
              kinds.INVALID: 422}

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = self.STATUS.get(kind, 422)
