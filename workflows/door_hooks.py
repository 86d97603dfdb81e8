"""Where the contact workflow meets the consultation line and the early help hub.

Kept out of workflows/contact.py so the contact's own flow stays readable; each hook
is called there behind `workflow.patched()` when it adds commands to a history.

- A contact quoting a consultation reference signals that consultation (fire-and-forget
  from one system to another; the consultation closes as linked).
- A contact routed to the early help hub at triage, or decided as targeted early help
  in the SPA, starts the EarlyHelpWorkflow as an abandoned child workflow. The start is
  a command in the contact's own history and the child's id is deterministic
  (case `EH-{contact id}`, workflow `early-help-EH-{contact id}`, duplicates rejected),
  so it happens exactly once even if workers crash and replay; the child outlives the
  contact, which closes at once. The case keeps its own action trail (it records the
  contact it came from); the contact's state names the case.
- A contact started by a step-up from early help enters the SPA directly: the step-up
  is its triage.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import FailureError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.contact import ContactActivities
    from models.actions import Triage
    from models.codes import ConsentStatus, Route
    from models.consultation import ReferralArrived
    from models.contact import ConsentStatement
    from models.early_help import EarlyHelpEntry, EarlyHelpInput, Origin
    from models.messages import CaseUpdate
    from models.state import StepUpEntry

CONSULTATION_SIGNAL = "referral_arrived"  # ConsultationWorkflow.referral_arrived


def early_help_case_id(contact_id: str) -> str:
    return f"EH-{contact_id}"


async def link_consultation(wf: Any, reference: str) -> None:
    contact = wf.inp.contact
    try:
        await workflow.get_external_workflow_handle(f"consultation-{reference}").signal(
            CONSULTATION_SIGNAL, ReferralArrived(contact_id=contact.id, received_at=contact.received_at)
        )
    except FailureError as err:
        wf.state.consultation_linked = False
        await wf.audit(
            None, "consultation_not_linked",
            f"no open consultation {reference} to link to ({err.message}); the reference stays on the contact",
            consultation_ref=reference,
        )
        return
    wf.state.consultation_linked = True
    await wf.audit(None, "linked_to_consultation", consultation_ref=reference)


async def start_early_help(wf: Any, entry: str) -> None:
    s, contact = wf.state, wf.inp.contact
    decision = s.decision
    consent = {ConsentStatus.GIVEN: "given", ConsentStatus.REFUSED: "refused"}.get(s.consent.status, "not_sought")
    origin = Origin(
        contact_id=contact.id,
        rationale=decision.rationale if decision else (s.triage.rationale if s.triage else None),
        level=int(s.triage.level) if s.triage else None,
        quadrant=decision.quadrant.value if decision and decision.quadrant else None,
        recurring_themes=s.recurring_themes,
    )
    case_id = early_help_case_id(contact.id)
    inp = EarlyHelpInput(
        case_id=case_id,
        entry=EarlyHelpEntry(entry),
        request=contact.model_copy(update={"consent": ConsentStatement(status=ConsentStatus(consent), note=contact.consent.note)}),
        submitted_by=(decision.actor.username if decision else (s.triage.actor.username if s.triage else wf.inp.submitted_by)),
        origin=origin,
        timescales=wf.inp.timescales,
    )
    try:
        await workflow.start_child_workflow(
            "EarlyHelpWorkflow", inp, id=f"early-help-{case_id}",
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        workflow.logger.info("early help case %s is already open", case_id)
    s.early_help_case_id = case_id


async def enter_from_step_up(wf: Any, up: StepUpEntry) -> None:
    s = wf.state
    s.triage = Triage(
        actor=up.actor, level=up.level, route=Route.SPA, history_considered=True,
        rationale=f"Stepped up from early help case {up.early_help_case_id}: {up.reason}",
    )
    s.triaged_at = workflow.now()
    s.history_considered_by.append(up.actor.username)
    await wf.audit(
        up.actor, "stepped_up_from_early_help", up.reason, early_help_case_id=up.early_help_case_id, level=int(up.level)
    )
    await wf.act(
        ContactActivities.update_case_record,
        CaseUpdate(contact_id=s.contact_id, stage=s.stage.value, level=int(up.level), route=Route.SPA.value),
    )
