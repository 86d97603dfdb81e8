"""The fields of an action's model, as the CLI and the forms need them.

One reading of a pydantic model (without `actor`, which the interface fills from who is
signed in) gives each field's path, label, kind of input, choices, and whether it is
required; `frontdoor/cli.py` makes options of them and `frontdoor/web/forms.py` makes form
inputs. An action's `form(state)` hints narrow the choices and set defaults from the case.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import Enum
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model
from pydantic.fields import FieldInfo

from models.codes import label as code_label

FILLED_BY_INTERFACE = frozenset({"actor", "signature"})
LONG_TEXT = 300  # longer than this: a text area


@dataclass(frozen=True)
class FieldSpec:
    path: str  # dotted: "threshold_advice.given_by"
    label: str
    kind: str  # text | textarea | select | checkbox | checks | datetime | date | number
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    default: Any = None
    help: str = ""
    max_length: int | None = None
    group: str | None = None  # the optional nested model it belongs to
    hidden: bool = False
    prompt: bool = False  # a choice that starts blank: the person must make it (no first option taken by default)
    # a list of nested models (e.g. one grade per audit domain): its items' fields, and the rows
    # the action's form(state) hints name (a grid on the screens; JSON or a line per item elsewhere)
    items: tuple[FieldSpec, ...] = ()
    line: str | None = None  # a list of records given one per line on the command line: its form (the model's LINE)
    grid: tuple[tuple[str, str, tuple[FieldSpec, ...]], ...] = field(default=())  # (row value, row label, cells)

    @property
    def option(self) -> str:
        return "--" + self.path.replace(".", "-").replace("_", "-")

    @property
    def dest(self) -> str:
        return self.path.replace(".", "__")


def unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the inner type, whether None is allowed); Annotated[...] gives its type."""
    if typing.get_origin(annotation) is typing.Annotated:
        return unwrap(typing.get_args(annotation)[0])
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner = unwrap(args[0])[0] if len(args) == 1 else str
        return inner, len(args) != len(typing.get_args(annotation))
    return annotation, False


def _humane(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _enum_choices(enum_type: type[Enum]) -> tuple[tuple[str, str], ...]:
    return tuple((str(m.value), code_label(m)) for m in enum_type)


def _max_length(info: FieldInfo) -> int | None:
    """The field's maxLength as its JSON schema states it (constraints may sit in an Annotated type)."""
    for meta in info.metadata:
        value = getattr(meta, "max_length", None)
        if value is not None:
            return int(value)
    if info.annotation is None:
        return None
    try:
        schema = TypeAdapter(info.annotation).json_schema()
    except Exception:  # noqa: BLE001 (a type with no schema: no limit to show)
        return None
    for node in [schema, *schema.get("anyOf", [])]:
        if isinstance(node, dict) and "maxLength" in node:
            return int(node["maxLength"])
    return None


@lru_cache(maxsize=256)
def specs(model: type[BaseModel], prefix: str = "", group: str | None = None) -> tuple[FieldSpec, ...]:
    out: list[FieldSpec] = []
    for name, info in model.model_fields.items():
        if not prefix and name in FILLED_BY_INTERFACE:
            continue
        inner, nullable = unwrap(info.annotation)
        path = f"{prefix}{name}"
        required = info.is_required() and not nullable
        label = info.title or (f"{_humane(prefix.rstrip('.').rsplit('.', 1)[-1])}: {name.replace('_', ' ')}" if prefix else _humane(name))
        help_text = info.description or ""
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        if isinstance(default, Enum):
            default = default.value
        common: dict[str, Any] = {"label": label, "required": required, "help": help_text, "group": group,
                                  "default": default}
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            out += specs(inner, f"{path}.", group=path if (nullable or not required) else group)
            continue
        origin = typing.get_origin(inner)
        if origin is list:
            (item,) = typing.get_args(inner) or (str,)
            item = unwrap(item)[0]
            if isinstance(item, type) and issubclass(item, BaseModel):
                out.append(FieldSpec(path, kind="text", items=specs(item), line=getattr(item, "LINE", None),
                                     **common | {"default": list(default or [])}))
                continue
            choices = _enum_choices(item) if isinstance(item, type) and issubclass(item, Enum) else ()
            out.append(FieldSpec(path, kind="checks" if choices else "text", choices=choices,
                                 **common | {"default": list(default or [])}))
        elif inner is bool:
            out.append(FieldSpec(path, kind="checkbox", **common | {"required": False, "default": bool(default)}))
        elif isinstance(inner, type) and issubclass(inner, Enum):
            out.append(FieldSpec(path, kind="select", choices=_enum_choices(inner), **common))
        elif inner is datetime:
            out.append(FieldSpec(path, kind="datetime", **common))
        elif inner is date:
            out.append(FieldSpec(path, kind="date", **common))
        elif inner in (int, float):
            out.append(FieldSpec(path, kind="number", **common))
        else:
            length = _max_length(info)
            out.append(FieldSpec(path, kind="textarea" if (length is None or length > LONG_TEXT) else "text",
                                 max_length=length, **common))
    return tuple(out)


def with_hints(fields: tuple[FieldSpec, ...], hints: dict[str, Any] | None) -> list[FieldSpec]:
    """Apply an action's `form(state)` hints: narrowed choices, defaults, labels, hidden fields."""
    out = []
    for f in fields:
        hint = (hints or {}).get(f.path) or {}
        changes: dict[str, Any] = {}
        if "choices" in hint and hint["choices"] is not None:
            changes["choices"] = tuple(
                (str(getattr(c, "value", c)), code_label(c) if isinstance(c, Enum) else str(c).replace("_", " "))
                for c in hint["choices"]
            )
        if hint.get("default") is not None:
            changes["default"] = getattr(hint["default"], "value", hint["default"])
        if "label" in hint:
            changes["label"] = hint["label"]
        if hint.get("hidden"):
            changes["hidden"] = True
        if hint.get("prompt"):
            changes["prompt"] = True
        if "choices" in changes and f.kind == "text" and isinstance(f.default, list) and not f.items:
            changes["kind"] = "checks"  # a list of codes from the case's own list (e.g. the audit tool's themes)
        if f.items and hint.get("rows"):
            changes["grid"] = _grid(f, hint)
        out.append(replace(f, **changes) if changes else f)
    return out


def _grid(f: FieldSpec, hint: dict[str, Any]) -> tuple[tuple[str, str, tuple[FieldSpec, ...]], ...]:
    """One row per hinted item: `rows` [(value, label)], `key` (the item field the row's value
    fills, sent hidden), `values` {row value: {item field: default}}, `item` (hints for the item's
    fields, e.g. {"grade": {"prompt": True}})."""
    key, values = hint.get("key"), hint.get("values") or {}
    item_fields = with_hints(f.items, hint.get("item"))
    out = []
    for i, (value, label) in enumerate(hint["rows"]):
        cells = []
        for sub in item_fields:
            path = f"{f.path}.{i}.{sub.path}"
            if sub.path == key:
                cells.append(replace(sub, path=path, kind="hidden", default=value, required=True))
                continue
            default = (values.get(value) or {}).get(sub.path, sub.default)
            cells.append(replace(sub, path=path, default=getattr(default, "value", default)))
        out.append((str(value), str(label), tuple(cells)))
    return tuple(out)


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"a.b": 1} -> {"a": {"b": 1}}; an optional group whose fields are all empty becomes None."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def drop_empty_groups(fields: tuple[FieldSpec, ...], flat: dict[str, Any]) -> dict[str, Any]:
    groups = {f.group for f in fields if f.group}
    for g in groups:
        members = [f.path for f in fields if f.group == g]
        if all(flat.get(m) in (None, "", [], False) for m in members):
            for m in members:
                flat.pop(m, None)
            flat[g] = None
    return flat


@lru_cache(maxsize=256)
def body_model(model: type[BaseModel]) -> type[BaseModel]:
    """The model as a caller sends it: without the fields the interface fills in, and
    refusing fields it does not know."""
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in model.model_fields.items() if name not in FILLED_BY_INTERFACE
    }
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{model.__name__}Body", __config__=ConfigDict(extra="forbid"), __doc__=model.__doc__, **fields
    )
