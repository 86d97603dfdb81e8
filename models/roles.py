"""Roles and what each may do: the one table every interface and validator reads."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Role(StrEnum):
    RFS_OFFICER = "rfs_officer"
    SOCIAL_WORKER = "social_worker"
    EARLY_HELP_ADVISER = "early_help_adviser"
    SENIOR_ADVISER = "senior_adviser"
    TEAM_MANAGER = "team_manager"
    SERVICE_MANAGER = "service_manager"


ROLE_NAMES = {
    Role.RFS_OFFICER: "Request-for-support officer",
    Role.SOCIAL_WORKER: "Social worker",
    Role.EARLY_HELP_ADVISER: "Early help adviser",
    Role.SENIOR_ADVISER: "Senior early help adviser",
    Role.TEAM_MANAGER: "Team manager",
    Role.SERVICE_MANAGER: "Service manager",
}

_WORKERS = {Role.RFS_OFFICER, Role.SOCIAL_WORKER, Role.TEAM_MANAGER}
_MANAGERS = {Role.TEAM_MANAGER}

# action -> roles allowed. Only managers decide, extend and override consent.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "submit_contact": frozenset(_WORKERS | {Role.EARLY_HELP_ADVISER}),
    "triage": frozenset({Role.RFS_OFFICER, Role.SOCIAL_WORKER}),
    "review": frozenset({Role.SOCIAL_WORKER, Role.TEAM_MANAGER}),
    "pickup": frozenset({Role.SOCIAL_WORKER, Role.TEAM_MANAGER}),
    "record_consent": frozenset({Role.SOCIAL_WORKER, Role.RFS_OFFICER, Role.EARLY_HELP_ADVISER, Role.TEAM_MANAGER}),
    "override_consent": frozenset(_MANAGERS),
    "request_map": frozenset({Role.SOCIAL_WORKER, Role.TEAM_MANAGER}),
    "record_map_response": frozenset({Role.SOCIAL_WORKER, Role.TEAM_MANAGER}),
    "proceed_without_agency": frozenset({Role.SOCIAL_WORKER, Role.TEAM_MANAGER}),
    "recommend": frozenset({Role.SOCIAL_WORKER}),
    "decide": frozenset(_MANAGERS),
    "extend": frozenset(_MANAGERS),
    "retry_fault": frozenset({Role.TEAM_MANAGER, Role.SERVICE_MANAGER}),
    # telephone consultation line
    "record_consultation": frozenset({Role.SOCIAL_WORKER, Role.TEAM_MANAGER}),
    "consultation_follow_up": frozenset({Role.SOCIAL_WORKER, Role.TEAM_MANAGER}),
    # early help hub
    "start_early_help": frozenset({Role.EARLY_HELP_ADVISER, Role.SENIOR_ADVISER, Role.TEAM_MANAGER}),
    "early_help_directions": frozenset({Role.TEAM_MANAGER, Role.SENIOR_ADVISER}),
    "early_help_consent": frozenset({Role.EARLY_HELP_ADVISER, Role.SENIOR_ADVISER, Role.TEAM_MANAGER}),
    "early_help_gather": frozenset({Role.EARLY_HELP_ADVISER, Role.SENIOR_ADVISER}),
    "early_help_consult": frozenset({Role.EARLY_HELP_ADVISER}),
    "early_help_recommend": frozenset({Role.EARLY_HELP_ADVISER, Role.SENIOR_ADVISER}),
    "early_help_decide": frozenset({Role.TEAM_MANAGER, Role.SENIOR_ADVISER}),
    "step_up": frozenset({Role.EARLY_HELP_ADVISER, Role.SENIOR_ADVISER, Role.TEAM_MANAGER}),
    # reports and the Ofsted Annex A lists (frontdoor/reports)
    "reports": frozenset({Role.TEAM_MANAGER, Role.SERVICE_MANAGER}),
    "view": frozenset(Role),
    "stuck": frozenset(Role),
}


class Actor(BaseModel):
    """The authenticated person behind an action. Every action names one."""

    username: str = Field(min_length=1, max_length=80)
    role: Role


class PermissionDenied(Exception):
    pass


def may(role: Role | str, action: str) -> bool:
    return Role(role) in PERMISSIONS.get(action, frozenset())


def require(actor: Actor, action: str) -> None:
    """Raise PermissionDenied with a message naming who may do the action."""
    if not may(actor.role, action):
        allowed = ", ".join(sorted(r.value for r in PERMISSIONS.get(action, frozenset())))
        raise PermissionDenied(
            f"{actor.username} ({actor.role.value}) may not {action.replace('_', ' ')}: "
            f"only {allowed or 'nobody'} may"
        )
