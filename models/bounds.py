"""Plausibility bounds: every limit on input from outside, as data in one place.

Two kinds of check read these limits, and the difference matters:

- **Shape** (the pydantic types below, used by every model that takes input from
  outside): lengths, counts, characters, unknown fields, an absolute calendar range.
  They are pure and time-independent, because models are decoded again inside
  workflows when Temporal replays a history (workflow inputs and Update arguments).
  Tightening one can make a stored history undecodable, so the recorded histories in
  tests/fixtures/histories must still replay after any change here.
- **Plausibility against the clock** (a receipt not in the future, not absurdly old; a
  child under 25; an unborn child's due date within ten months): never in a validator.
  The interface calls `plausibility_errors(item, now)` before it starts a workflow and
  answers 422 with every problem, each naming its field (e.g.
  `children.0.date_of_birth`). An extension's span is checked against the current
  deadline by `extension_errors` in the workflow's Update validator.

Change a limit here and every model, form and schema follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, Field

from models.codes import CIN_FACTORS, Agency

# ---------------------------------------------------------------- free text (characters)
NAME_MAX = 200  # a person's, agency's or team's name, a job title
USERNAME_MAX = 80  # a person known to the front door (models/roles.Actor)
CODE_MAX = 64  # identifiers, phone numbers, postcodes, configured codes (quadrants)
EMAIL_MAX = 254  # RFC 5321
SHORT_TEXT_MAX = 2_000  # notes, questions, advice given in a few lines
REASON_MAX = 4_000  # rationales, reasons, explanations, directions
SUMMARY_MAX = 10_000  # a referrer's summary, a recommendation, an agency's information

# ---------------------------------------------------------------- counts
MAX_CHILDREN = 20  # children named in one contact or consultation (a large sibling group)
MAX_FACTORS = len(CIN_FACTORS)  # CIN factor codes on one contact: each code once at most
MAX_AGENCIES = len(Agency)  # agencies in one MAP request: each agency once at most
MAX_EXTENSIONS = 10  # extensions of one decision deadline (for the workflow's validator)
# What the history check returns into a workflow's state (its history and every Update's
# result): the most recent matches; patterns and counts are worked out from all of them.
MAX_HISTORY_MATCHES = 200

# ---------------------------------------------------------------- the calendar
# Absolute range of any date or time from outside (shape: time-independent). Outside it,
# arithmetic on the value can overflow (year 1 or 9999 with a time zone offset).
EARLIEST_YEAR = 1900
LATEST_YEAR = 2199
YEAR_PATTERN = r"^(19|2[01])[0-9]{2}-"  # the same range, for the OpenAPI schema

# Relative to the clock (plausibility, checked by the interface, never on decode).
CLOCK_SKEW = timedelta(minutes=5)  # a receipt may be this far in the future (clocks differ)
RECEIPT_MAX_AGE = timedelta(days=366)  # older contacts are imported as history, not received
POLICE_ATTENDANCE_MAX_BEFORE_RECEIPT = timedelta(days=90)  # "some days after"; months is a typo
CHILD_MAX_AGE_YEARS = 25  # care leavers are supported up to 25
DUE_DATE_MAX_MONTHS_AHEAD = 10  # an unborn child's expected due date
DUE_DATE_OVERDUE_GRACE = timedelta(days=14)  # a baby may be born up to two weeks after its due date

# ---------------------------------------------------------------- durations
EXTENSION_MAX_SPAN = timedelta(days=14)  # default; Timescales reads it (configurable)
WITHIN_MIN = timedelta(minutes=1)  # `within=` of the stuck lists ("decisions due within ...")
WITHIN_MAX = timedelta(days=31)
RECURRING_LOOKBACK_MONTHS = 12  # default look-back window; config/threshold_rules.json sets it

# ---------------------------------------------------------------- shape types
# C0 controls other than tab, newline and carriage return; DEL; lone UTF-16 surrogates (which
# are not characters: they cannot be stored as UTF-8, and PostgreSQL refuses NUL in text).
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def check_characters(value: str) -> str:
    """Refuse what is not text: lone surrogates and control characters."""
    bad = _NOT_TEXT.search(value)
    if bad is None:
        return value
    ch = bad.group()
    if "\ud800" <= ch <= "\udfff":
        raise ValueError(
            f"contains an unpaired surrogate (U+{ord(ch):04X}) at position {bad.start()}, which is not a "
            "character: send the text as UTF-8 (a broken emoji or copy-paste is the usual cause)"
        )
    raise ValueError(f"contains the control character U+{ord(ch):04X} at position {bad.start()}: remove it")


def check_instant(value: datetime) -> datetime:
    """An instant from outside: with a time zone, and within the calendar's absolute range."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("give a time zone, e.g. 2026-11-26T09:14:00Z")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"the year {value.year} is outside {EARLIEST_YEAR}-{LATEST_YEAR}: check the date")
    return value


def check_calendar_date(value: date) -> date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"the year {value.year} is outside {EARLIEST_YEAR}-{LATEST_YEAR}: check the date")
    return value


# Every string from outside is Text; the kinds add their maximum length (in the schema too).
# The schema states the characters refused (lone surrogates cannot be written in a pattern).
TEXT_PATTERN = "^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"
Text = Annotated[str, AfterValidator(check_characters), Field(json_schema_extra={"pattern": TEXT_PATTERN})]
Name = Annotated[Text, Field(max_length=NAME_MAX)]
Username = Annotated[Text, Field(max_length=USERNAME_MAX)]
Code = Annotated[Text, Field(max_length=CODE_MAX)]
Email = Annotated[Text, Field(max_length=EMAIL_MAX)]
ShortText = Annotated[Text, Field(max_length=SHORT_TEXT_MAX)]
ReasonText = Annotated[Text, Field(max_length=REASON_MAX)]
SummaryText = Annotated[Text, Field(max_length=SUMMARY_MAX)]

# Every date or time from outside: aware, and in a range where arithmetic cannot overflow.
Instant = Annotated[datetime, AfterValidator(check_instant), Field(json_schema_extra={"pattern": YEAR_PATTERN})]
CalendarDate = Annotated[date, AfterValidator(check_calendar_date), Field(json_schema_extra={"pattern": YEAR_PATTERN})]


# ---------------------------------------------------------------- plausibility (explicit, with the clock)
@dataclass(frozen=True)
class FieldError:
    """One implausible value: the field's path as the API names it, and what to do."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.path, "message": self.message}


class Plausible(Protocol):
    def plausibility_errors(self, now: datetime) -> list[FieldError]: ...


def plausibility_errors(item: Plausible, now: datetime) -> list[FieldError]:
    """Every value of an intake item that is implausible at `now` (aware). Empty when all is well.

    The interface calls this before it starts a workflow (a contact, an early help request,
    a consultation) and refuses the item with 422 when the list is not empty.
    """
    if now.tzinfo is None:
        raise ValueError("plausibility_errors needs an aware `now`, e.g. datetime.now(UTC)")
    return item.plausibility_errors(now)


def _day(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%d/%m/%Y %H:%M} UTC"


OLD_CONTACT_ADVICE = "a contact is recorded when it arrives; import older records as history (frontdoor history import)"


def receipt_errors(path: str, at: datetime, now: datetime, advice: str = OLD_CONTACT_ADVICE) -> list[FieldError]:
    """A contact (or call) is not received in the future, nor longer ago than RECEIPT_MAX_AGE."""
    if at > now + CLOCK_SKEW:
        return [FieldError(path, f"{_day(at)} is in the future (now is {_day(now)}): check the date and its time zone")]
    if at < now - RECEIPT_MAX_AGE:
        return [FieldError(path, f"{_day(at)} is more than {RECEIPT_MAX_AGE.days} days ago: {advice}")]
    return []


def police_attendance_errors(path: str, attended: datetime, received: datetime) -> list[FieldError]:
    """Attendance is before receipt (a shape rule in the model) and not implausibly long before."""
    if received - attended > POLICE_ATTENDANCE_MAX_BEFORE_RECEIPT:
        return [
            FieldError(
                path,
                f"the police attended {(received - attended).days} days before the contact was received "
                f"(at most {POLICE_ATTENDANCE_MAX_BEFORE_RECEIPT.days}): check the two dates",
            )
        ]
    return []


def latest_date_anywhere(now: datetime) -> date:
    """Today's date somewhere on Earth (UTC+14): a date after it is in the future everywhere."""
    return (now.astimezone(UTC) + timedelta(hours=14)).date()


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def months_after(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def months_before(moment: datetime, months: int) -> datetime:
    """The same time `months` calendar months earlier (31 March -> 28/29 February)."""
    day = months_after(moment.date(), -months)
    return moment.replace(year=day.year, month=day.month, day=day.day)


def birth_errors(path: str, born: date, received: datetime, now: datetime) -> list[FieldError]:
    """A date of birth is not in the future, and the child is under CHILD_MAX_AGE_YEARS at receipt."""
    if born > latest_date_anywhere(now):
        return [
            FieldError(
                path,
                f"{born:%d/%m/%Y} is in the future: for an unborn child give expected_due_date instead of date_of_birth",
            )
        ]
    if born <= years_before(received.date(), CHILD_MAX_AGE_YEARS):
        return [
            FieldError(
                path,
                f"born {born:%d/%m/%Y}, the child was {CHILD_MAX_AGE_YEARS} or older when the contact was received: "
                f"the front door is for children and care leavers under {CHILD_MAX_AGE_YEARS}; check the date",
            )
        ]
    return []


def due_date_errors(path: str, due: date, received: datetime) -> list[FieldError]:
    """An unborn child's expected due date is within DUE_DATE_MAX_MONTHS_AHEAD of receipt
    (and not more than DUE_DATE_OVERDUE_GRACE past: after that the child has been born)."""
    day = received.date()
    latest = months_after(day, DUE_DATE_MAX_MONTHS_AHEAD)
    if due > latest:
        return [
            FieldError(
                path,
                f"{due:%d/%m/%Y} is more than {DUE_DATE_MAX_MONTHS_AHEAD} months after the contact "
                f"(latest {latest:%d/%m/%Y}): check the date",
            )
        ]
    if due < day - DUE_DATE_OVERDUE_GRACE:
        return [
            FieldError(
                path,
                f"{due:%d/%m/%Y} is more than {DUE_DATE_OVERDUE_GRACE.days} days before the contact: "
                "if the child has been born, give date_of_birth instead",
            )
        ]
    return []


def extension_errors(
    new_deadline: datetime, current_deadline: datetime, now: datetime, max_span: timedelta = EXTENSION_MAX_SPAN
) -> list[FieldError]:
    """An extension moves the deadline forward, to a time not yet passed, by at most `max_span`.

    Pure (the workflow's Update validator passes workflow.now()); the path is `new_deadline`.
    """
    if new_deadline <= current_deadline:
        return [FieldError("new_deadline", f"{_day(new_deadline)} does not move the deadline ({_day(current_deadline)}) forward")]
    if new_deadline <= now:
        return [FieldError("new_deadline", f"{_day(new_deadline)} has already passed: give a later time")]
    if new_deadline - current_deadline > max_span:
        return [
            FieldError(
                "new_deadline",
                f"{_day(new_deadline)} extends the deadline by more than {_span(max_span)} "
                f"(latest {_day(current_deadline + max_span)}): extend again later if more time is needed",
            )
        ]
    return []


def duration_errors(
    path: str, value: timedelta, minimum: timedelta = WITHIN_MIN, maximum: timedelta = WITHIN_MAX
) -> list[FieldError]:
    """A duration from outside (e.g. `within=` of the stuck lists) is within its bounds."""
    if not minimum <= value <= maximum:
        return [FieldError(path, f"give a duration between {_span(minimum)} and {_span(maximum)}")]
    return []


def _span(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds % size == 0 and seconds >= size:
            n = seconds // size
            return f"{n} {unit[:-1] if n == 1 else unit}"
    return f"{seconds} seconds"


def split_box(value: object, separators: str) -> object:
    """A list typed in one box (a form's text field, or a string where the API takes a list):
    each string in `value` split on the `separators` pattern, blanks dropped; anything else is
    left for the field's own type to judge. A `mode="before"` validator's body."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        out: list[object] = []
        for v in value:
            out += [p.strip() for p in re.split(separators, v) if p.strip()] if isinstance(v, str) else [v]
        return out
    return value


def distinct(message: str) -> AfterValidator:
    """A list field whose items are each given once: `Annotated[list[X], distinct("...")]`;
    `message` says what was given twice."""

    def check(value: list[Any]) -> list[Any]:
        if len(set(value)) != len(value):
            raise ValueError(message)
        return value

    return AfterValidator(check)
