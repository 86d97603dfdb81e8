"""HTML forms to and from the models: an action's form is generated from its model (with
the action's hints from the case's state), and every form, generated or written by hand,
is read back the same way: inputs are named by their field's dotted path
(`threshold_advice.given_by`, `children.0.first_name`), times are in the service's time
zone, a blank input is no value, and an optional group left blank is no group."""

from __future__ import annotations

import types
import typing
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from starlette.datastructures import FormData

from frontdoor import fields, timefmt
from workflows.process import Action

MAX_INPUTS = 400  # a form with more inputs than any of ours is refused whole
MAX_INDEX = 50  # list items (e.g. children) a form may carry


class FormError(ValueError):
    pass


def action_fields(action: Action, state: Any, tz: str) -> list[fields.FieldSpec]:
    """The inputs of an action's form for this case: choices and defaults from its state."""
    specs = fields.with_hints(fields.specs(action.model), action.form(state) if action.form else None)
    out = []
    for f in specs:
        if f.kind == "datetime" and isinstance(f.default, datetime):
            f = replace(f, default=timefmt.local_input(f.default, tz))
        out.append(f)
    return out


def _field_type(model: type[BaseModel], path: list[str]) -> Any:
    """The annotation at a dotted path (list indices step into the item type)."""
    annotation: Any = model
    for part in path:
        inner, _ = fields.unwrap(annotation)
        if typing.get_origin(inner) is list:
            inner = typing.get_args(inner)[0] if part.isdigit() else inner
            if part.isdigit():
                annotation = inner
                continue
        if isinstance(inner, type) and issubclass(inner, BaseModel) and part in inner.model_fields:
            annotation = inner.model_fields[part].annotation
        else:
            return None
    return annotation


def _convert(annotation: Any, raw: list[str], tz: str) -> Any:
    inner, _ = fields.unwrap(annotation)
    origin = typing.get_origin(inner)
    if inner is bool:
        return str(raw[-1]).lower() in {"on", "true", "1", "yes"}
    if origin is list or origin in (types.GenericAlias,):
        return [v for v in raw if v.strip()]
    text = raw[-1].strip()
    if not text:
        return None
    if inner is datetime:
        try:
            return timefmt.parse_local(text, tz).isoformat()
        except ValueError:
            return text  # the model says what is wrong with it
    if inner is date:
        return text
    return text


def _set(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node: Any = tree
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _lists(tree: Any) -> Any:
    """{"0": {...}, "1": {...}} -> [{...}, {...}], blank items dropped; blank groups -> None."""
    if not isinstance(tree, dict):
        return tree
    converted = {k: _lists(v) for k, v in tree.items()}
    if converted and all(k.isdigit() for k in converted):
        items = [converted[k] for k in sorted(converted, key=int)]
        return [i for i in items if not _blank(i)]
    return converted


def _blank(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_blank(v) for v in value.values())
    return value in (None, "", [], False)


def read(model: type[BaseModel], form: FormData, tz: str) -> dict[str, Any]:
    """The form's values as the model's input (not yet validated: the model says what is wrong)."""
    keys = [k for k in form.keys() if k != "csrf_token"]
    if len(keys) > MAX_INPUTS:
        raise FormError(f"the form has {len(keys)} inputs; at most {MAX_INPUTS} are read")
    tree: dict[str, Any] = {}
    for key in dict.fromkeys(keys):
        path = key.split(".")
        if any(p.isdigit() and int(p) >= MAX_INDEX for p in path):
            raise FormError(f"{key}: at most {MAX_INDEX} items of a list are read")
        annotation = _field_type(model, path)
        if annotation is None:
            continue  # not a field of this model (e.g. a button's name): ignored
        _set(tree, path, _convert(annotation, [str(v) for v in form.getlist(key)], tz))
    data = _lists(tree)
    for name, info in model.model_fields.items():  # an optional group left blank is no group
        inner, nullable = fields.unwrap(info.annotation)
        if nullable and isinstance(inner, type) and issubclass(inner, BaseModel) and _blank(data.get(name, None)):
            data[name] = None
    return {k: v for k, v in data.items() if v is not None or k in model.model_fields}
