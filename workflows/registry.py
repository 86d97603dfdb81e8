"""Every process the front door runs, one line each. The worker registers their workflows
and activities; the CLI, the API, the pages and the stuck lists are generated from them."""

from __future__ import annotations

from workflows import audit, audit_round, caseload, consultation, contact, early_help
from workflows.process import Process

PROCESSES: tuple[Process, ...] = (
    contact.PROCESS,
    consultation.PROCESS,
    early_help.PROCESS,
    audit_round.PROCESS,
    audit.PROCESS,
)

# Workflows the worker runs that people do not act on: started by Temporal Schedules.
SCHEDULED: tuple[type, ...] = (caseload.CaseloadSnapshotWorkflow,)

BY_KIND: dict[str, Process] = {p.kind: p for p in PROCESSES}

for _process in PROCESSES:
    _process.check_shape()
