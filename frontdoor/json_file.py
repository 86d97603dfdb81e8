"""A JSON file named on the command line, read with messages that say what was wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from frontdoor.errors import FrontdoorError


def load(path: Path, shape: type[list[Any]] | type[dict[str, Any]], holding: str) -> Any:
    """The file's JSON, which must be a `shape` (list or dict); `holding` says what it should
    hold, for the message when it is not ("a JSON list of earlier contacts")."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FrontdoorError(f"no file {path}") from None
    except json.JSONDecodeError as exc:
        raise FrontdoorError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, shape):
        raise FrontdoorError(f"{path} should hold {holding}")
    return data
