"""Custom search attributes: each supervisor's question is one visibility query over these.

The SQL visibility store of the dev server allows 3 of each type but 10 Keywords, so
stuck states share one KeywordList (FdFlags). No personal data goes in here:
search attributes are not encrypted.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

KIND = SearchAttributeKey.for_keyword("FdKind")  # contact | consultation | early_help | ...
SUBJECT = SearchAttributeKey.for_keyword("FdSubject")  # the case's own id (contact id, case id, ...)
STAGE = SearchAttributeKey.for_keyword("FdStage")
ROUTE = SearchAttributeKey.for_keyword("FdRoute")
HOLDER = SearchAttributeKey.for_keyword("FdHolder")
PRIORITY = SearchAttributeKey.for_keyword("FdPriority")
SOURCE = SearchAttributeKey.for_keyword("FdSource")
FAULT = SearchAttributeKey.for_keyword("FdFault")
REF = SearchAttributeKey.for_keyword("FdRef")  # e.g. the consultation reference
FLAGS = SearchAttributeKey.for_keyword_list("FdFlags")
THEMES = SearchAttributeKey.for_keyword_list("FdThemes")
SINCE = SearchAttributeKey.for_datetime("FdSince")
DUE = SearchAttributeKey.for_datetime("FdDueAt")
RECEIVED = SearchAttributeKey.for_datetime("FdReceivedAt")
LEVEL = SearchAttributeKey.for_int("FdLevel")

ALL: list[SearchAttributeKey] = [
    KIND, SUBJECT, STAGE, ROUTE, HOLDER, PRIORITY, SOURCE, FAULT, REF, FLAGS, THEMES, SINCE, DUE, RECEIVED, LEVEL,
]

_CLI_TYPES = {
    "KEYWORD": "Keyword", "KEYWORD_LIST": "KeywordList", "DATETIME": "Datetime", "INT": "Int",
    "TEXT": "Text", "BOOL": "Bool", "FLOAT": "Double",
}


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` pairs for `temporal server start-dev`."""
    out: list[str] = []
    for key in ALL:
        out += ["--search-attribute", f"{key.name}={_CLI_TYPES[key.indexed_value_type.name]}"]
    return out
