"""The police's daily list of children missing from home, school and care: read it (JSON or
CSV), check each row, and start or update one episode per row (workflows/missing.py).

Used by `frontdoor missing import FILE`, the upload page and `POST /api/missing/daily-lists`.
A row that fails validation is reported with its line and the reason; the other rows are
kept. Importing the same list twice changes nothing: a row for an episode already open is
compared with the episode's state first, and sent only when it changes something (a return
time, a new risk grading, more circumstances). Sent, it is a signal (`police_list`): the
list is the police's data, fed by a system, not a person's action, so it is not signed and
no action table applies; who imported it is recorded with the import
(`missing_list_imports`) and named in the episode's trail.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from temporalio.client import Client
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from frontdoor.config import Settings
from frontdoor.errors import FrontdoorError, InvalidInput, Refused
from models import errors as kinds
from models.bounds import Instant, Name, plausibility_errors
from models.database import session
from models.missing import (
    CSV_COLUMNS,
    MAX_LIST_BYTES,
    MAX_LIST_ROWS,
    REQUIRED_COLUMNS,
    ListImportRecord,
    MissingEpisodeReport,
    MissingInput,
    MissingListImportRow,
    MissingState,
    PoliceListEntry,
    report_from_csv,
)
from models.roles import MISSING_IMPORTERS, ROLE_NAMES, Actor
from workflows import missing
from workflows.registry import BY_KIND

PROGRESS_EVERY = 50  # rows between progress lines
CONCURRENCY = 8  # episodes started or compared at once


class ListError(InvalidInput):
    """The list as a whole cannot be read (not JSON or CSV, a missing column, too big)."""


class RowProblem(BaseModel):
    line: int = Field(description="the line of the file the row starts on")
    police_ref: str | None = None
    reason: str


class NotUpdated(BaseModel):
    police_ref: str
    reason: str


class ImportReport(BaseModel):
    list_id: str = Field(description="a digest of the list's content: the same list has the same id")
    listed_at: datetime = Field(description="the list's time: when the police issued it, else when it was imported")
    rows: int
    new: list[str] = Field(default_factory=list, description="episodes started")
    updated: list[str] = Field(default_factory=list, description="open episodes the list changed")
    unchanged: int = 0
    not_updated: list[NotUpdated] = Field(default_factory=list, description="closed episodes the list would change")
    invalid: list[RowProblem] = Field(default_factory=list, description="rows refused, each with its line and why")

    def summary(self) -> str:
        return (f"list {self.list_id}: {self.rows} row(s): {len(self.new)} new, {len(self.updated)} updated, "
                f"{self.unchanged} unchanged, {len(self.not_updated)} closed (not updated), {len(self.invalid)} refused")


@dataclass
class ParsedList:
    list_id: str
    issued_at: datetime | None
    force: str | None
    rows: list[tuple[int, MissingEpisodeReport]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.problems)


# ---------------------------------------------------------------------- reading a list
def _reason(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg'].removeprefix('Value error, ')}"
                     for e in exc.errors())


def _element_lines(text: str) -> list[int]:
    """The line each episode of a JSON list starts on (a list, or an object with `episodes`)."""
    decoder = json.JSONDecoder()

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def elements(i: int) -> list[int]:
        out, i = [], skip(i + 1)
        while i < len(text) and text[i] != "]":
            out.append(text.count("\n", 0, i) + 1)
            _, i = decoder.raw_decode(text, i)
            i = skip(i)
            if i < len(text) and text[i] == ",":
                i = skip(i + 1)
        return out

    i = skip(0)
    if text[i] == "[":
        return elements(i)
    i = skip(i + 1)
    while i < len(text) and text[i] != "}":
        key, i = decoder.raw_decode(text, i)
        i = skip(skip(i) + 1)  # the colon
        if key == "episodes" and text[i] == "[":
            return elements(i)
        _, i = decoder.raw_decode(text, i)
        i = skip(i)
        if i < len(text) and text[i] == ",":
            i = skip(i + 1)
    return []


def _check_row(parsed: ParsedList, line: int, raw: Any, now: datetime, seen: dict[str, int]) -> None:
    ref = raw.get("police_ref") if isinstance(raw, dict) else None
    ref = ref if isinstance(ref, str) else None
    try:
        report = MissingEpisodeReport.model_validate(raw)
    except ValidationError as exc:
        parsed.problems.append(RowProblem(line=line, police_ref=ref, reason=_reason(exc)))
        return
    problems = plausibility_errors(report, now)
    if problems:
        parsed.problems.append(RowProblem(line=line, police_ref=ref, reason="; ".join(f"{p.path}: {p.message}" for p in problems)))
        return
    if report.police_ref in seen:
        parsed.problems.append(RowProblem(line=line, police_ref=ref,
                                          reason=f"police_ref: {report.police_ref} is on line {seen[report.police_ref]} too"))
        return
    seen[report.police_ref] = line
    parsed.rows.append((line, report))


def parse_list(data: bytes, *, filename: str | None = None, content_type: str | None = None,
               now: datetime | None = None) -> ParsedList:
    """Read a daily list. Raises ListError when the file as a whole cannot be read; a row
    that cannot be used is a RowProblem and the others are kept."""
    now = now or datetime.now(UTC)
    if len(data) > MAX_LIST_BYTES:
        raise ListError(f"the list is {len(data):,} bytes; at most {MAX_LIST_BYTES:,}: split it in two")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ListError(f"the list is not UTF-8 text (byte {exc.start}): save it as UTF-8 CSV or JSON") from None
    if not text.strip():
        raise ListError("the list is empty")
    list_id = "L" + hashlib.sha256(data).hexdigest()[:20]
    return _parse_json(text, list_id, now) if _is_json(text, filename, content_type) else _parse_csv(text, list_id, now)


def _is_json(text: str, filename: str | None, content_type: str | None) -> bool:
    """What the list says it is decides: its file name's ending, else its declared media type;
    only a list that says neither is read as JSON when it starts like JSON (a CSV list sent
    as text/csv is read as CSV whatever it holds, and refused if its first line is not the
    columns)."""
    name = (filename or "").lower()
    if name.endswith((".json", ".csv")):
        return name.endswith(".json")
    media = (content_type or "").split(";")[0].strip().lower()
    if media.endswith(("json", "csv")):
        return media.endswith("json")
    return text.lstrip()[:1] in "[{"


def _parse_json(text: str, list_id: str, now: datetime) -> ParsedList:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ListError(f"the list is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    issued_at, force = None, None
    if isinstance(doc, dict):
        unknown = sorted(set(doc) - {"issued_at", "force", "episodes"})
        if unknown:
            raise ListError(f"unknown field(s) {', '.join(unknown)}: a list has issued_at, force and episodes")
        try:
            issued_at = TypeAdapter(Instant | None).validate_python(doc.get("issued_at"))
            force = TypeAdapter(Name | None).validate_python(doc.get("force"))
        except ValidationError as exc:
            raise ListError(f"issued_at or force: {_reason(exc)}") from None
        episodes = doc.get("episodes")
    else:
        episodes = doc
    if not isinstance(episodes, list):
        raise ListError("a JSON list is a list of episodes, or an object whose `episodes` is one")
    if len(episodes) > MAX_LIST_ROWS:
        raise ListError(f"the list has {len(episodes):,} episodes; at most {MAX_LIST_ROWS:,}: split it")
    try:
        lines = _element_lines(text)
    except (ValueError, IndexError):
        lines = []
    parsed = ParsedList(list_id=list_id, issued_at=issued_at, force=force)
    seen: dict[str, int] = {}
    for i, raw in enumerate(episodes):
        _check_row(parsed, lines[i] if i < len(lines) else i + 1, raw, now, seen)
    return parsed


def _parse_csv(text: str, list_id: str, now: datetime) -> ParsedList:
    reader = csv.DictReader(io.StringIO(text))
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing_columns = [c for c in REQUIRED_COLUMNS if c not in header]
    if unknown or missing_columns:
        raise ListError(
            "the CSV's first line names its columns: "
            + (f"unknown {', '.join(unknown)}; " if unknown else "")
            + (f"missing {', '.join(missing_columns)}; " if missing_columns else "")
            + f"the columns are {', '.join(CSV_COLUMNS)} (see examples/police_missing_list.csv)"
        )
    parsed = ParsedList(list_id=list_id, issued_at=None, force=None)
    seen: dict[str, int] = {}
    line = reader.line_num + 1
    try:
        for row in reader:
            if len(parsed.rows) + len(parsed.problems) >= MAX_LIST_ROWS:
                raise ListError(f"the list has more than {MAX_LIST_ROWS:,} rows: split it")
            if None in row:
                parsed.problems.append(RowProblem(line=line, reason=f"more values than the {len(header)} columns"))
            elif any(v is None for v in row.values()):
                parsed.problems.append(RowProblem(line=line, reason=f"fewer values than the {len(header)} columns"))
            else:
                _check_row(parsed, line, report_from_csv(dict(row)), now, seen)
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ListError(f"line {reader.line_num}: the CSV cannot be read: {exc}") from None
    return parsed


def shift_to_now(data: bytes, *, filename: str | None = None, issued_at: datetime | None = None,
                 now: datetime | None = None) -> tuple[bytes, datetime]:
    """The list with its times moved so it was issued now, keeping the gaps between them (for
    demonstrations with the examples). The list's time is its issued_at, else `issued_at`, else
    its latest time. Returns the list and the time it now says it was issued."""
    now = now or datetime.now(UTC)
    text = data.decode("utf-8-sig")
    fields = ("reported_missing_at", "returned_at")
    as_json = (filename or "").lower().endswith(".json") or (not filename and text.lstrip()[:1] in "[{")
    try:
        doc: Any = json.loads(text) if as_json else list(csv.DictReader(io.StringIO(text)))
    except json.JSONDecodeError as exc:
        raise ListError(f"the list is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    episodes = doc.get("episodes", []) if isinstance(doc, dict) else doc
    moments = [datetime.fromisoformat(e[f]) for e in episodes if isinstance(e, dict) for f in fields if e.get(f)]
    listed = doc.get("issued_at") if isinstance(doc, dict) else None
    reference = datetime.fromisoformat(listed) if listed else issued_at or max(moments, default=now)
    delta = now - reference
    for e in episodes:
        for f in fields:
            if isinstance(e, dict) and e.get(f):
                e[f] = (datetime.fromisoformat(e[f]) + delta).isoformat()
    if isinstance(doc, dict) and listed:
        doc["issued_at"] = now.isoformat()
    if as_json:
        return json.dumps(doc, indent=2).encode(), now
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(episodes[0]) if episodes else list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(episodes)
    return out.getvalue().encode(), now


# ---------------------------------------------------------------------- applying it
def _holder(settings: Settings, actor: Actor) -> str:
    """The designated worker (FRONTDOOR_MISSING_LEAD) holds every episode; without one, who imports."""
    if not settings.missing_lead:
        return actor.username
    from frontdoor.users import actor_for

    try:
        actor_for(settings.database_url, settings.missing_lead)
    except FrontdoorError:
        raise FrontdoorError(
            f"FRONTDOOR_MISSING_LEAD={settings.missing_lead} is not a person here: add them with "
            f"`frontdoor users add {settings.missing_lead} --role early_help_adviser`, or change the setting"
        ) from None
    return settings.missing_lead


async def _apply(client: Client, settings: Settings, report: MissingEpisodeReport, *, holder: str, actor: Actor,
                 listed_at: datetime, list_id: str, task_queue: str | None) -> tuple[str, str | None]:
    """Start the episode, or send the row to the open one when it changes something.
    Returns (new | updated | unchanged | not_updated, why)."""
    proc = BY_KIND[missing.KIND]
    wid = proc.workflow_id(report.police_ref)
    inp = MissingInput(report=report, holder=holder, started_by=actor.username, listed_at=listed_at, list_id=list_id,
                       timescales=settings.timescales)
    try:
        await client.start_workflow(
            missing.MissingWorkflow.run, inp, id=wid, task_queue=task_queue or settings.temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE, id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes(missing.start_attributes(report)),
        )
        return "new", None
    except WorkflowAlreadyStartedError:
        pass
    handle = client.get_workflow_handle(wid)
    state = await handle.query("current_state", result_type=MissingState)
    if not state.list_changes(report):
        return "unchanged", None
    if state.closed_at is not None:
        return "not_updated", f"closed {state.closed_at:%d/%m/%Y}; the list changes {', '.join(state.list_changes(report))}"
    try:
        await handle.signal(missing.POLICE_LIST, PoliceListEntry(report=report, listed_at=listed_at, list_id=list_id,
                                                                 imported_by=actor.username))
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return "not_updated", "closed as the list arrived"
        raise
    return "updated", None


async def import_list(
    client: Client, settings: Settings, parsed: ParsedList, actor: Actor, *, via: str,
    listed_at: datetime | None = None, task_queue: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Start or update an episode per valid row; record the import. `listed_at` is the list's
    time when the list does not say (CSV): by default, now."""
    if actor.role not in MISSING_IMPORTERS:
        who = ", ".join(ROLE_NAMES[r].lower() for r in sorted(MISSING_IMPORTERS))
        raise Refused(kinds.PERMISSION_DENIED, f"{actor.username} ({actor.role.value}) may not import the police's "
                      f"missing list: only {who} may")
    holder = _holder(settings, actor)
    when = parsed.issued_at or listed_at or datetime.now(UTC)
    report = ImportReport(list_id=parsed.list_id, listed_at=when, rows=parsed.total, invalid=list(parsed.problems))
    gate = asyncio.Semaphore(CONCURRENCY)
    done = 0

    async def one(row: MissingEpisodeReport) -> None:
        nonlocal done
        async with gate:
            outcome, why = await _apply(client, settings, row, holder=holder, actor=actor, listed_at=when,
                                        list_id=parsed.list_id, task_queue=task_queue)
        if outcome == "new":
            report.new.append(row.police_ref)
        elif outcome == "updated":
            report.updated.append(row.police_ref)
        elif outcome == "unchanged":
            report.unchanged += 1
        else:
            report.not_updated.append(NotUpdated(police_ref=row.police_ref, reason=why or ""))
        done += 1
        if progress and (done % PROGRESS_EVERY == 0 or done == len(parsed.rows)):
            progress(f"  [{done}/{len(parsed.rows)}] {len(report.new)} new, {len(report.updated)} updated, "
                     f"{report.unchanged} unchanged")

    await asyncio.gather(*(one(r) for _, r in parsed.rows))
    report.new.sort()
    report.updated.sort()
    _record(settings.database_url, ListImportRecord(
        list_id=parsed.list_id, imported_at=datetime.now(UTC), imported_by=actor.username, via=via,
        issued_at=parsed.issued_at or listed_at, rows=parsed.total, new=len(report.new), updated=len(report.updated),
        unchanged=report.unchanged, invalid=len(report.invalid), not_updated=len(report.not_updated),
    ))
    return report


def _record(database_url: str, record: ListImportRecord) -> None:
    with session(database_url) as s:
        s.add(MissingListImportRow(**record.model_dump()))
        s.commit()
