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
    # partners co-located in the SPA for the morning case discussion: they read only what it puts before them
    POLICE_PARTNER = "police_partner"
    HEALTH_PARTNER = "health_partner"


ROLE_NAMES = {
    Role.RFS_OFFICER: "Request-for-support officer",
    Role.SOCIAL_WORKER: "Social worker",
    Role.EARLY_HELP_ADVISER: "Early help adviser",
    Role.SENIOR_ADVISER: "Senior early help adviser",
    Role.TEAM_MANAGER: "Team manager",
    Role.SERVICE_MANAGER: "Service manager",
    Role.POLICE_PARTNER: "Police partner (SPA)",
    Role.HEALTH_PARTNER: "Health partner (SPA)",
}

# Who does what. Each process's action table (workflows/<process>.py) names, per action,
# one of these groups; what is not an action on a case (seeing, asking what is stuck,
# reports) is in PERMISSIONS below.
INTAKE = frozenset({Role.RFS_OFFICER, Role.SOCIAL_WORKER, Role.TEAM_MANAGER, Role.EARLY_HELP_ADVISER})
TRIAGERS = frozenset({Role.RFS_OFFICER, Role.SOCIAL_WORKER})
SOCIAL_WORK = frozenset({Role.SOCIAL_WORKER, Role.TEAM_MANAGER})
SOCIAL_WORKERS = frozenset({Role.SOCIAL_WORKER})
CONSENT_TAKERS = frozenset({Role.SOCIAL_WORKER, Role.RFS_OFFICER, Role.EARLY_HELP_ADVISER, Role.TEAM_MANAGER})
MANAGERS = frozenset({Role.TEAM_MANAGER})  # only managers decide, extend and override consent
FAULT_RETRIERS = frozenset({Role.TEAM_MANAGER, Role.SERVICE_MANAGER})
EARLY_HELP_TEAM = frozenset({Role.EARLY_HELP_ADVISER, Role.SENIOR_ADVISER, Role.TEAM_MANAGER})
EARLY_HELP_LEADS = frozenset({Role.TEAM_MANAGER, Role.SENIOR_ADVISER})
EARLY_HELP_WORKERS = frozenset({Role.EARLY_HELP_ADVISER, Role.SENIOR_ADVISER})
EARLY_HELP_ADVISERS = frozenset({Role.EARLY_HELP_ADVISER})
# children missing from home, school and care: the designated early help worker and their managers
MISSING_TEAM = frozenset({Role.EARLY_HELP_ADVISER, Role.SENIOR_ADVISER, Role.TEAM_MANAGER})
MISSING_IMPORTERS = MISSING_TEAM | {Role.RFS_OFFICER}  # who loads the police's daily list
# the morning case discussion: partners add items and what their agency knows; the chair records
PARTNERS = frozenset({Role.POLICE_PARTNER, Role.HEALTH_PARTNER})
MORNING_CONTRIBUTORS = frozenset({Role.RFS_OFFICER, Role.SOCIAL_WORKER, Role.TEAM_MANAGER}) | PARTNERS
MORNING_CHAIRS = MANAGERS
STAFF = frozenset(r for r in Role if r not in PARTNERS)  # everyone employed by children's services

# Who reads each process's cases (its pages, API reads, trail, documents, messages): people see
# the work their role does. Supervisors' stuck lists carry no personal data and are for all staff.
CONTACT_READERS = frozenset({Role.RFS_OFFICER, Role.SOCIAL_WORKER, Role.TEAM_MANAGER, Role.SERVICE_MANAGER})
CONSULTATION_READERS = frozenset({Role.SOCIAL_WORKER, Role.TEAM_MANAGER, Role.SERVICE_MANAGER})
EARLY_HELP_READERS = frozenset({Role.RFS_OFFICER, Role.SOCIAL_WORKER, Role.EARLY_HELP_ADVISER, Role.SENIOR_ADVISER,
                                Role.TEAM_MANAGER, Role.SERVICE_MANAGER})
MISSING_READERS = frozenset({Role.RFS_OFFICER, Role.SOCIAL_WORKER, Role.EARLY_HELP_ADVISER, Role.SENIOR_ADVISER,
                             Role.TEAM_MANAGER, Role.SERVICE_MANAGER})
# the partners read the morning discussion and nothing else of the front door
MORNING_READERS = frozenset({Role.RFS_OFFICER, Role.SOCIAL_WORKER, Role.TEAM_MANAGER, Role.SERVICE_MANAGER}) | PARTNERS

# who may give an RfS officer threshold advice (the letter: it was given, and not recorded)
ADVISERS = frozenset({Role.SOCIAL_WORKER, Role.TEAM_MANAGER, Role.SENIOR_ADVISER, Role.SERVICE_MANAGER})
SENIOR_CONSULTEES = frozenset({Role.SENIOR_ADVISER, Role.TEAM_MANAGER})

# Allocation and the audit programme (issue 12). A team manager (or the service manager
# above them) allocates and reallocates open work; a first-line manager audits, a different
# one re-audits, a service manager moderates; the case's own worker acknowledges the meeting.
ALLOCATORS = frozenset({Role.TEAM_MANAGER, Role.SERVICE_MANAGER})
FIRST_LINE_MANAGERS = frozenset({Role.TEAM_MANAGER})
MODERATORS = frozenset({Role.SERVICE_MANAGER})
AUDIT_ROUND_STARTERS = frozenset({Role.SERVICE_MANAGER})
MEETING_LEADS = frozenset({Role.TEAM_MANAGER, Role.SERVICE_MANAGER})
PRACTITIONERS = frozenset({Role.RFS_OFFICER, Role.SOCIAL_WORKER, Role.EARLY_HELP_ADVISER, Role.SENIOR_ADVISER})
AUDIT_READERS = PRACTITIONERS | {Role.TEAM_MANAGER, Role.SERVICE_MANAGER}  # the worker reads their own audit
AUDIT_ROUND_READERS = frozenset({Role.TEAM_MANAGER, Role.SERVICE_MANAGER})

PERMISSIONS: dict[str, frozenset[Role]] = {
    "view": frozenset(Role),
    "stuck": STAFF,  # the stuck lists name cases of every process: not for partners
    "caseloads": frozenset({Role.TEAM_MANAGER, Role.SERVICE_MANAGER}),  # anyone's caseload, and teams'
    "audit_reports": frozenset({Role.TEAM_MANAGER, Role.SERVICE_MANAGER}),
    # reports and the Ofsted Annex A lists (frontdoor/reports)
    "reports": frozenset({Role.TEAM_MANAGER, Role.SERVICE_MANAGER}),
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
