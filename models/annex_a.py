"""Ofsted ILACS Annex A (the 2020-2023 layout sector tools use): list columns and value
spellings, as data. One place: the exporter (frontdoor/reports/annex_a.py) and the tests
read these. Checked against ../shared/DATA_STANDARDS.md and SocialFinanceDigitalLabs/liia-tools
(liiatools/annex_a_pipeline/spec/Annex_A_schema_2020.yml).

Two decisions the sources leave open:
- CIN source 5D (LA services: early help) is not among the 21 sources a) to u) of the
  2020-2023 list. A contact stepped up from the early help hub is shown as
  `p1) 5D: LA services`, the spelling the later Annex A layout gives it (liia-tools
  Annex_A_schema.yml, placed after `p) 5C: LA services`), rather than folding it into
  another LA service and losing where the referral came from.
- liia-tools spells both REFU and NOBT with `s)`; the ethnicity codes run a) to t) in the
  DfE order, so NOBT (information not yet obtained) is `t) NOBT` here. A child whose
  ethnicity is not recorded is shown as `t) NOBT`; a child whose sex is not recorded as
  `c) Not stated/recorded`.
"""

from __future__ import annotations

from string import ascii_lowercase

COMMON_COLUMNS = ("Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)")
LIST_COLUMNS: dict[int, tuple[str, ...]] = {
    1: (*COMMON_COLUMNS, "Date of Contact", "Contact Source"),
    2: (*COMMON_COLUMNS, "Assessment start date", "Assessment completion date", "Organisation completing assessment"),
    3: (
        *COMMON_COLUMNS, "Date of referral", "Referral Source", "Referral NFA?",
        "Number of Referrals in Last 12 Months", "Allocated Team", "Allocated Worker",
    ),
}
LIST_TITLES = {1: "List 1 Contacts", 2: "List 2 Early Help", 3: "List 3 Referrals"}
DATE_FORMAT = "%d/%m/%Y"

GENDER = {"M": "a) Male", "F": "b) Female", "U": "c) Not stated/recorded"}
GENDER_NOT_RECORDED = "c) Not stated/recorded"
GENDER_NEITHER = "d) Neither"  # in the list; the intake contract has no value that maps to it

ETHNICITY_ORDER = (
    "WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN", "AOTH",
    "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
)
ETHNICITY = {code: f"{letter}) {code}" for letter, code in zip(ascii_lowercase, ETHNICITY_ORDER, strict=False)}
ETHNICITY_NOT_RECORDED = ETHNICITY["NOBT"]

# (letter, CIN code, Annex A wording): the 21 sources a) to u)
_SOURCES = (
    ("a", "1A", "Individual"), ("b", "1B", "Individual"), ("c", "1C", "Individual"), ("d", "1D", "Individual"),
    ("e", "2A", "Schools"), ("f", "2B", "Education services"),
    ("g", "3A", "Health services"), ("h", "3B", "Health services"), ("i", "3C", "Health services"),
    ("j", "3D", "Health services"), ("k", "3E", "Health services"), ("l", "3F", "Health services"),
    ("m", "4", "Housing"), ("n", "5A", "LA services"), ("o", "5B", "LA services"), ("p", "5C", "LA services"),
    ("q", "6", "Police"), ("r", "7", "Other legal agency"), ("s", "8", "Other"), ("t", "9", "Anonymous"),
    ("u", "10", "Unknown"),
)
SOURCE = {code: f"{letter}) {code}: {words}" for letter, code, words in _SOURCES}
SOURCE_5D = "p1) 5D: LA services"
SOURCE["5D"] = SOURCE_5D
SOURCE_UNKNOWN = SOURCE["10"]

YES, NO = "Yes", "No"
EARLY_HELP_ORGANISATION = "Early help hub"
NO_TEAM = "Single point of access"  # a referral not (or not yet) passed to a team
NO_WORKER = "Not yet allocated"


def source(code: str | None) -> str:
    return SOURCE.get(code or "", SOURCE_UNKNOWN)


def gender(sex: str | None) -> str:
    return GENDER.get(sex or "", GENDER_NOT_RECORDED)


def ethnicity(code: str | None) -> str:
    return ETHNICITY.get(code or "", ETHNICITY_NOT_RECORDED)


def team_name(team: str | None) -> str:
    if not team:
        return NO_TEAM
    return team.replace("_", " ").capitalize()
