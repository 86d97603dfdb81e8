"""Activities of the telephone consultation line. No activity here looks up history: a
consultation never uses what children's services already know (there is none to call)."""

from __future__ import annotations

from temporalio import activity

from activities.deps import Activities
from models.consultation import ConsultationRecordRow, ConsultationRow
from models.database import session


class ConsultationActivities(Activities):
    @activity.defn
    def record_consultation(self, row: ConsultationRecordRow) -> None:
        """Upsert the call's summary row (no child identity, ever)."""
        with session(self.deps.database_url) as s:
            record = s.get(ConsultationRow, row.id) or ConsultationRow(
                id=row.id, workflow_id=row.workflow_id, called_at=row.called_at,
                caller_agency=row.caller_agency, outcome=row.outcome,
            )
            for name, value in row.model_dump().items():
                setattr(record, name, value)
            s.add(record)
            s.commit()
