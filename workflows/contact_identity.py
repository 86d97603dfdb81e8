"""What other workflows and the client layer need to know of a contact's workflow: its
id, its type, its input and its state.

Other workflows start contacts by this class (early help's step-up into the SPA, a
missing episode's concerns): they need not import the contact workflow itself, which
starts early help cases, so no module imports another that imports it back. The contact
workflow (workflows/contact.py) is this class with its body.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes

with workflow.unsafe.imports_passed_through():
    import workflows.search_attributes as sa
    from models.contact import Contact
    from models.state import ContactState, ContactWorkflowInput, Flag, Stage

KIND = "contact"


def workflow_id(subject_id: str) -> str:
    return f"contact-{subject_id}"


@workflow.defn(name="ContactWorkflow")
class ContactIdentity:
    @workflow.run
    async def run(self, inp: ContactWorkflowInput) -> ContactState:
        raise NotImplementedError("the contact workflow's body is workflows.contact.ContactWorkflow")


def start_attributes(contact: Contact) -> list[SearchAttributePair[Any]]:
    """Set when the workflow starts, so a new contact shows in every list at once."""
    return [
        SearchAttributePair(sa.KIND, KIND), SearchAttributePair(sa.SUBJECT, contact.id),
        SearchAttributePair(sa.STAGE, Stage.INTAKE.value), SearchAttributePair(sa.SOURCE, contact.source),
        SearchAttributePair(sa.RECEIVED, contact.received_at), SearchAttributePair(sa.FLAGS, [Flag.UNREVIEWED.value]),
    ]


def typed_start_attributes(contact: Contact) -> TypedSearchAttributes:
    return TypedSearchAttributes(start_attributes(contact))
