"""Every process the front door runs, one line each. The worker registers their workflows
and activities; the CLI, the API, the pages and the stuck lists are generated from them."""

from __future__ import annotations

from workflows import audit, audit_round, consultation, contact, early_help, missing, morning
from workflows.process import Process

PROCESSES: tuple[Process, ...] = (
    contact.PROCESS,
    consultation.PROCESS,
    early_help.PROCESS,
    missing.PROCESS,
    morning.PROCESS,
    audit_round.PROCESS,
    audit.PROCESS,
)

BY_KIND: dict[str, Process] = {p.kind: p for p in PROCESSES}

for _process in PROCESSES:
    _process.check_shape()
