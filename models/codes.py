"""Code lists: DfE CIN census codes and the front door's own fixed lists.

One source of truth. Everything else (validation, forms, reports) reads these.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any

# DfE CIN census: source of contact / referral.
CIN_SOURCES: dict[str, str] = {
    "1A": "Individual: family member, relative or carer",
    "1B": "Individual: acquaintance (incl. neighbours, child minders)",
    "1C": "Individual: self",
    "1D": "Individual: other (incl. strangers)",
    "2A": "Schools",
    "2B": "Education services",
    "3A": "Health: GP",
    "3B": "Health: health visitor",
    "3C": "Health: school nurse",
    "3D": "Health: other primary health",
    "3E": "Health: A&E",
    "3F": "Health: other (e.g. hospice)",
    "4": "Housing",
    "5A": "LA services: social care (e.g. adults)",
    "5B": "LA services: other internal (e.g. youth offending; not housing)",
    "5C": "LA services: external (another LA)",
    "5D": "LA services: early help",
    "6": "Police",
    "7": "Other legal agency (courts, probation, immigration, Cafcass, prison)",
    "8": "Other (children's centres, independent or voluntary)",
    "9": "Anonymous",
    "10": "Unknown",
}
POLICE_SOURCE = "6"
ANONYMOUS_SOURCE = "9"

# DfE CIN census: factors identified at the end of assessment, used as concern themes.
CIN_FACTORS: dict[str, str] = {
    "1A": "Alcohol misuse: child",
    "1B": "Alcohol misuse: parent or carer",
    "1C": "Alcohol misuse: other household member",
    "2A": "Drug misuse: child",
    "2B": "Drug misuse: parent or carer",
    "2C": "Drug misuse: other household member",
    "3A": "Domestic violence: child",
    "3B": "Domestic violence: parent or carer",
    "3C": "Domestic violence: other household member",
    "4A": "Mental health: child",
    "4B": "Mental health: parent or carer",
    "4C": "Mental health: other household member",
    "5A": "Learning disability: child",
    "5B": "Learning disability: parent or carer",
    "5C": "Learning disability: other household member",
    "6A": "Physical disability or illness: child",
    "6B": "Physical disability or illness: parent or carer",
    "6C": "Physical disability or illness: other household member",
    "7A": "Young carer",
    "8B": "Privately fostered: overseas child intending to return",
    "8C": "Privately fostered: overseas child remaining",
    "8D": "Privately fostered: UK child in education",
    "8E": "Privately fostered: UK child, parents unable to care",
    "8F": "Privately fostered: other",
    "9A": "Unaccompanied asylum-seeking child",
    "10A": "Going missing",
    "11A": "Child sexual exploitation",
    "12A": "Trafficking",
    "13A": "Gangs",
    "14A": "Socially unacceptable behaviour",
    "15A": "Self-harm",
    "16A": "Neglect",
    "17A": "Emotional abuse",
    "18B": "Physical abuse: child on child",
    "18C": "Physical abuse: adult on child",
    "19B": "Sexual abuse: child on child",
    "19C": "Sexual abuse: adult on child",
    "20": "Other",
    "21": "No factors identified",
    "22A": "Female genital mutilation",
    "23A": "Abuse linked to faith or belief",
    "24A": "Child criminal exploitation",
}

# Concern themes that recur in families: the letter names neglect and domestic abuse.
THEMES: dict[str, str] = {
    "neglect": "Neglect",
    "domestic_abuse": "Domestic abuse",
    "parental_substance_misuse": "Parental substance misuse",
    "parental_mental_health": "Parental mental health",
    "exploitation": "Exploitation",
    "physical_abuse": "Physical abuse",
    "sexual_abuse": "Sexual abuse",
    "emotional_abuse": "Emotional abuse",
    "going_missing": "Going missing",
}
FACTOR_THEMES: dict[str, str] = {
    "16A": "neglect",
    "3A": "domestic_abuse",
    "3B": "domestic_abuse",
    "3C": "domestic_abuse",
    "1B": "parental_substance_misuse",
    "2B": "parental_substance_misuse",
    "4B": "parental_mental_health",
    "11A": "exploitation",
    "12A": "exploitation",
    "13A": "exploitation",
    "24A": "exploitation",
    "18B": "physical_abuse",
    "18C": "physical_abuse",
    "19B": "sexual_abuse",
    "19C": "sexual_abuse",
    "17A": "emotional_abuse",
    "10A": "going_missing",
}

ETHNICITIES: dict[str, str] = {
    "WBRI": "White British", "WIRI": "White Irish", "WIRT": "Traveller of Irish heritage",
    "WOTH": "Any other White background", "WROM": "Gypsy/Roma",
    "MWBC": "White and Black Caribbean", "MWBA": "White and Black African",
    "MWAS": "White and Asian", "MOTH": "Any other mixed background",
    "AIND": "Indian", "APKN": "Pakistani", "ABAN": "Bangladeshi", "AOTH": "Any other Asian background",
    "BCRB": "Caribbean", "BAFR": "African", "BOTH": "Any other Black background",
    "CHNE": "Chinese", "OOTH": "Any other ethnic group", "REFU": "Refused",
    "NOBT": "Information not yet obtained",
}


class Sex(StrEnum):
    M = "M"
    F = "F"
    U = "U"


class ConsentStatus(StrEnum):
    GIVEN = "given"
    REFUSED = "refused"
    NOT_SOUGHT = "not_sought"
    SOUGHT = "sought"  # asked, answer awaited
    OVERRIDDEN = "overridden"


class LevelOfNeed(IntEnum):
    UNIVERSAL = 1
    EARLY_HELP = 2
    TARGETED_EARLY_HELP = 3
    SPECIALIST = 4


LEVEL_NAMES = {
    1: "Universal",
    2: "Early help (universal plus)",
    3: "Targeted early help",
    4: "Specialist / statutory",
}


class Route(StrEnum):
    URGENT = "urgent"
    SPA = "spa"
    EARLY_HELP = "early_help"
    ADVICE_NFA = "advice_nfa"


ROUTE_NAMES = {
    Route.URGENT: "Immediate and significant risk: assessment team (strategy discussion)",
    Route.SPA: "Single point of access: decision on statutory support",
    Route.EARLY_HELP: "Early help hub",
    Route.ADVICE_NFA: "Advice, signposting or no further action",
}


class Rag(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"


class Agency(StrEnum):
    POLICE = "police"
    GP = "gp"
    HEALTH_VISITOR = "health_visitor"
    SCHOOL_NURSE = "school_nurse"
    SCHOOL = "school"
    PROBATION = "probation"
    HOUSING = "housing"
    ADULT_SERVICES = "adult_services"
    CAMHS = "camhs"
    OTHER_LA = "other_la"


AGENCY_NAMES = {
    Agency.POLICE: "Police",
    Agency.GP: "GP",
    Agency.HEALTH_VISITOR: "Health visitor",
    Agency.SCHOOL_NURSE: "School nurse",
    Agency.SCHOOL: "School",
    Agency.PROBATION: "Probation",
    Agency.HOUSING: "Housing",
    Agency.ADULT_SERVICES: "Adult social care",
    Agency.CAMHS: "CAMHS",
    Agency.OTHER_LA: "Other local authority",
}


class ConsentOverrideReason(StrEnum):
    RISK_OF_SIGNIFICANT_HARM = "risk_of_significant_harm"
    SEEKING_CONSENT_INCREASES_RISK = "seeking_consent_increases_risk"
    CRIME_PREVENTION = "crime_prevention"
    PARENT_UNCONTACTABLE_URGENT = "parent_uncontactable_urgent"
    OTHER = "other"


class ExtensionReason(StrEnum):
    PARENT_CARER_UNAVAILABLE = "parent_carer_unavailable"
    AGENCY_UNAVAILABLE = "agency_unavailable"
    INTERPRETER_AWAITED = "interpreter_awaited"
    OTHER = "other"


EXTENSION_REASON_NAMES = {
    ExtensionReason.PARENT_CARER_UNAVAILABLE: "Parent/carer unavailable",
    ExtensionReason.AGENCY_UNAVAILABLE: "Agency unavailable or answer awaited",
    ExtensionReason.INTERPRETER_AWAITED: "Interpreter awaited",
    ExtensionReason.OTHER: "Other",
}


class Quadrant(StrEnum):
    NORTH_WEST = "north_west"
    NORTH_EAST = "north_east"
    SOUTH_WEST = "south_west"
    SOUTH_EAST = "south_east"


class Outcome(StrEnum):
    STRATEGY_DISCUSSION_S47 = "strategy_discussion_s47"
    ASSESSMENT_S17 = "assessment_s17"
    TARGETED_EARLY_HELP = "targeted_early_help"
    UNIVERSAL_ADVICE = "universal_advice"
    NFA = "nfa"
    # outcomes reached without a management decision
    URGENT_ASSESSMENT = "urgent_assessment"
    EARLY_HELP_HUB = "early_help_hub"
    ADVICE_SIGNPOSTING = "advice_signposting"


OUTCOME_NAMES = {
    Outcome.STRATEGY_DISCUSSION_S47: "Strategy discussion / section 47 enquiry",
    Outcome.ASSESSMENT_S17: "Child and family assessment (section 17)",
    Outcome.TARGETED_EARLY_HELP: "Targeted early help",
    Outcome.UNIVERSAL_ADVICE: "Universal services / advice",
    Outcome.NFA: "No further action",
    Outcome.URGENT_ASSESSMENT: "Urgent: assessment team strategy discussion",
    Outcome.EARLY_HELP_HUB: "Early help hub",
    Outcome.ADVICE_SIGNPOSTING: "Advice / signposting",
}

DECISION_OUTCOMES = (
    Outcome.STRATEGY_DISCUSSION_S47,
    Outcome.ASSESSMENT_S17,
    Outcome.TARGETED_EARLY_HELP,
    Outcome.UNIVERSAL_ADVICE,
    Outcome.NFA,
)


def team_for_outcome(outcome: Outcome, quadrant: Quadrant | None = None) -> str | None:
    """The team a case is handed to for an outcome (None: feedback only, no team)."""
    if outcome in (Outcome.STRATEGY_DISCUSSION_S47, Outcome.ASSESSMENT_S17, Outcome.URGENT_ASSESSMENT):
        return "assessment_team"
    if outcome == Outcome.TARGETED_EARLY_HELP:
        return f"early_help_{quadrant.value}" if quadrant else "early_help_hub"
    if outcome == Outcome.EARLY_HELP_HUB:
        return "early_help_hub"
    return None


# Which levels of need each route serves: triage must be consistent with the guidance.
ROUTE_LEVELS: dict[Route, frozenset[LevelOfNeed]] = {
    Route.URGENT: frozenset({LevelOfNeed.SPECIALIST}),
    Route.SPA: frozenset({LevelOfNeed.TARGETED_EARLY_HELP, LevelOfNeed.SPECIALIST}),
    Route.EARLY_HELP: frozenset({LevelOfNeed.EARLY_HELP, LevelOfNeed.TARGETED_EARLY_HELP}),
    Route.ADVICE_NFA: frozenset({LevelOfNeed.UNIVERSAL, LevelOfNeed.EARLY_HELP}),
}


# People-facing names of coded values, by code list: forms, documents and screens read these.
LABELS: dict[type, dict[Any, str]] = {
    Outcome: {o.value: n for o, n in OUTCOME_NAMES.items()},
    Agency: {a.value: n for a, n in AGENCY_NAMES.items()},
    ExtensionReason: {r.value: n for r, n in EXTENSION_REASON_NAMES.items()},
    Route: {r.value: n for r, n in ROUTE_NAMES.items()},
    LevelOfNeed: {int(k): f"{k}: {v}" for k, v in LEVEL_NAMES.items()},
}


def label(value: Any) -> str:
    """The people-facing name of a coded value (its code, tidied, when the list has none)."""
    names = LABELS.get(type(value))
    raw = getattr(value, "value", value)
    if names and raw in names:
        return names[raw]
    return str(raw).replace("_", " ")


def template_globals() -> dict[str, Any]:
    """The code lists every template may use."""
    return {
        "sources": CIN_SOURCES, "factors": CIN_FACTORS, "themes": THEMES, "ethnicities": ETHNICITIES,
        "agencies": LABELS[Agency], "outcomes": LABELS[Outcome], "levels": LEVEL_NAMES,
        "routes": LABELS[Route], "extension_reasons": LABELS[ExtensionReason],
        "decision_outcomes": [o.value for o in DECISION_OUTCOMES],
        "override_reasons": [r.value for r in ConsentOverrideReason],
        "quadrants": [q.value for q in Quadrant], "rags": [r.value for r in Rag],
    }
