"""The two doors beside the main flow, for the screens and the API: the telephone
consultation line and the early help hub. Their actions (frontdoor.consultations.ACTIONS,
frontdoor.early_help.ACTIONS), the permission each needs in models/roles.PERMISSIONS,
their API path segments, the actions a stage allows, and their visibility lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from frontdoor import consultations, early_help
from frontdoor.stuck import OPEN
from models.codes import ConsentStatus
from models.consultation import ConsultationStage, ConsultationState
from models.early_help import EarlyHelpStage, EarlyHelpState
from models.roles import PERMISSIONS, Actor


@dataclass(frozen=True)
class Door:
    """One door: its client module, what each action needs, and where each lives in the API."""

    kind: str  # FdKind
    noun: str  # for messages: "consultation", "early help case"
    api: str  # /api/{api}
    pages: str  # /{pages}
    actions: dict[str, tuple[Any, type[BaseModel]]]
    permissions: dict[str, str]  # ACTIONS name -> PERMISSIONS action
    paths: dict[str, str]  # ACTIONS name -> API path segment (the CLI's verb)
    titles: dict[str, str]
    module: Any

    def permission(self, action: str) -> str:
        return self.permissions[action]

    def may(self, actor: Actor, action: str) -> bool:
        return actor.role in PERMISSIONS[self.permissions[action]]


CONSULTATION = Door(
    kind="consultation", noun="consultation", api="consultations", pages="consultations",
    actions=consultations.ACTIONS,
    permissions={"follow_up": "consultation_follow_up", "retry": "retry_fault"},
    paths={"follow_up": "follow-up", "retry": "retry"},
    titles={"follow_up": "Record the follow-up call", "retry": "Retry after a technical fault"},
    module=consultations,
)

EARLY_HELP = Door(
    kind="early_help", noun="early help case", api="early-help", pages="early-help",
    actions=early_help.ACTIONS,
    permissions={
        "directions": "early_help_directions", "consent": "early_help_consent", "conversation": "early_help_gather",
        "consult": "early_help_consult", "finish_gathering": "early_help_gather",
        "recommendation": "early_help_recommend", "decision": "early_help_decide", "step_up": "step_up",
        "retry": "retry_fault",
    },
    paths={
        "directions": "directions", "consent": "consent", "conversation": "conversation", "consult": "consult",
        "finish_gathering": "finish-gathering", "recommendation": "recommend", "decision": "decide",
        "step_up": "step-up", "retry": "retry",
    },
    titles={
        "directions": "Management directions", "consent": "Record parental consent",
        "conversation": "Record a conversation", "consult": "Record a threshold consultation",
        "finish_gathering": "Finish information gathering", "recommendation": "Write the recommendation",
        "decision": "Decision", "step_up": "Step up into the SPA", "retry": "Retry after a technical fault",
    },
    module=early_help,
)

DOORS = {d.kind: d for d in (CONSULTATION, EARLY_HELP)}

# Nav links: shown to the roles that may act at the door.
CONSULTATION_ROLES = PERMISSIONS["record_consultation"] | PERMISSIONS["consultation_follow_up"]
EARLY_HELP_ROLES = frozenset().union(*(PERMISSIONS[p] for p in EARLY_HELP.permissions.values() if p != "retry_fault"),
                                     PERMISSIONS["start_early_help"])

# Stages the workflow moves on by itself: their pages reload until they settle.
CONSULTATION_TRANSIENT = (ConsultationStage.RECORDING,)
EARLY_HELP_TRANSIENT = (EarlyHelpStage.HANDOFF,)
EARLY_HELP_OPEN = (
    EarlyHelpStage.AWAITING_DIRECTIONS, EarlyHelpStage.AWAITING_CONSENT, EarlyHelpStage.GATHERING,
    EarlyHelpStage.AWAITING_RECOMMENDATION, EarlyHelpStage.AWAITING_DECISION,
)


def body_model(door: Door, action: str) -> type[BaseModel]:
    """The action's input model without `actor`: the server fills it from the token."""
    _, model = door.actions[action]
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in model.model_fields.items() if name != "actor"
    }
    return create_model(f"{model.__name__}Body", __config__=ConfigDict(extra="forbid"), __doc__=model.__doc__, **fields)


def subject_url(kind: str | None, subject_id: str) -> str | None:
    """The page of a workflow's subject, by its FdKind (None when there is no page)."""
    if kind == "contact":
        return f"/contacts/{subject_id}"
    door = DOORS.get(kind or "")
    return f"/{door.pages}/{subject_id}" if door else None


# ------------------------------------------------------------------ visibility
def consultations_query(stage: str | None = None, flag: str | None = None, open_only: bool = True) -> str:
    """Values are checked against the enums by the callers before they reach the query."""
    query = "FdKind = 'consultation'" + (f" AND {OPEN}" if open_only else "")
    if stage:
        query += f" AND FdStage = '{stage}'"
    if flag:
        query += f" AND FdFlags = '{flag}'"
    return query


def early_help_query(stage: str | None = None, overdue: bool | None = None, open_only: bool = True) -> str:
    query = "FdKind = 'early_help'" + (f" AND {OPEN}" if open_only else "")
    if stage:
        query += f" AND FdStage = '{stage}'"
    if overdue is True:
        query += " AND FdFlags = 'early_help_overdue'"
    elif overdue is False:
        query += " AND FdFlags != 'early_help_overdue'"
    return query


# ------------------------------------------------------------------ what the stage allows
def consultation_allows(state: ConsultationState) -> list[str]:
    """The actions the stage allows; the workflow's validators stay the authority."""
    allowed = []
    if state.stage == ConsultationStage.FOLLOW_UP and state.follow_up is None:
        allowed.append("follow_up")
    if state.fault is not None:
        allowed.append("retry")
    return allowed


def early_help_allows(state: EarlyHelpState) -> list[str]:
    s, allowed = state.stage, []
    if s == EarlyHelpStage.AWAITING_DIRECTIONS:
        allowed.append("directions")
    if s in (EarlyHelpStage.AWAITING_DIRECTIONS, EarlyHelpStage.AWAITING_CONSENT) and state.consent_status != ConsentStatus.GIVEN:
        allowed.append("consent")
    if s in (EarlyHelpStage.GATHERING, EarlyHelpStage.AWAITING_RECOMMENDATION):
        allowed.append("conversation")
    if s in (EarlyHelpStage.GATHERING, EarlyHelpStage.AWAITING_RECOMMENDATION, EarlyHelpStage.AWAITING_DECISION):
        allowed.append("consult")
    if s == EarlyHelpStage.GATHERING and state.history is not None:
        allowed.append("finish_gathering")
    if s == EarlyHelpStage.AWAITING_RECOMMENDATION:
        allowed.append("recommendation")
    if s == EarlyHelpStage.AWAITING_DECISION:
        allowed.append("decision")
    if s in EARLY_HELP_OPEN:
        allowed.append("step_up")
    if state.fault is not None:
        allowed.append("retry")
    return allowed


def offered(door: Door, allowed: list[str], actor: Actor) -> list[str]:
    """The forms to show this person: allowed by the stage and by their role."""
    return [a for a in allowed if door.may(actor, a)]
