"""Documents rendered from jinja2 templates and kept in the case record.

A document's kind names its template: `templates/<process>/<kind>.html` (shared pieces
live in `templates/documents/`). A document id is the workflow id and the step, so a
retried activity stores nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)
from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from activities.deps import Deps
from models import codes
from models.database import insert_once, session
from models.messages import DocumentRequest
from models.roles import ROLE_NAMES
from models.tables import ContactRecord, DocumentRecord


def local_time(value: Any, tz: str, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored instant in the service's time zone; a value that cannot be shown says so."""
    if value is None:
        return ""
    try:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return str(value.astimezone(ZoneInfo(tz)).strftime(fmt))
    except (ValueError, OverflowError, TypeError, AttributeError):
        return f"{value} (not a valid time)"


@lru_cache(maxsize=8)
def environment(templates_dir: str, timezone: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["london"] = lambda value, fmt="%d/%m/%Y %H:%M": local_time(value, timezone, fmt)
    env.globals.update(codes.template_globals(), role_names={r.value: n for r, n in ROLE_NAMES.items()})
    return env


@lru_cache(maxsize=64)
def template_for(templates_dir: str, kind: str) -> str:
    """The template of a document kind: the one `<process>/<kind>.html` that exists."""
    found = sorted(p.relative_to(templates_dir).as_posix() for p in Path(templates_dir).glob(f"*/{kind}.html")
                   if p.parent.name != "web")
    if len(found) != 1:
        raise TemplateNotFound(f"{kind}.html: expected exactly one templates/<process>/{kind}.html, found {found}")
    return found[0]


def render(deps: Deps, template: str, **context: Any) -> str:
    return environment(str(deps.templates_dir), deps.timezone).get_template(template).render(**context)


def store_document(deps: Deps, request: DocumentRequest) -> str:
    """Render and keep a document once (its id is the workflow id and step)."""
    with session(deps.database_url) as s:
        write_document(s, deps, request)
        s.commit()
    return request.document_id


def write_document(s: Session, deps: Deps, request: DocumentRequest) -> str:
    """The document's content: rendered and added in the session's transaction, or as kept
    already under its id (the caller commits). SQLAlchemy Core statements: a contact writes
    several documents, and the ORM's loading cost more than the SQL (bench/README.md)."""
    conn = s.connection()
    kept = conn.execute(_CONTENT, {"id": request.document_id}).scalar()
    if kept is not None:
        return str(kept)
    context = dict(request.context)
    payload = conn.execute(_PAYLOAD, {"id": request.subject_id}).scalar()
    if payload is not None:
        context.setdefault("contact", payload)
    template = template_for(str(deps.templates_dir), request.kind)
    content = render(deps, template, **context)
    insert_once(s, DocumentRecord(
        id=request.document_id, subject_id=request.subject_id, kind=request.kind, process=template.split("/")[0],
        title=request.title, content=content, created_at=datetime.now(UTC),
    ))
    return content


_CONTENT = select(col(DocumentRecord.content)).where(col(DocumentRecord.id) == bindparam("id"))
_PAYLOAD = select(col(ContactRecord.payload)).where(col(ContactRecord.id) == bindparam("id"))
