"""Overdue carrier claims escalate (U7, U4): the job ``incidents.claim_deadlines``.

A claim has two deadlines, both from its carrier's master data (``domain/claims.py``): a draft
must be filed by ``file_by``, a filed claim must be answered by ``answer_due_at``. When one
passes, the logistics emergency team (it files and chases claims) and the leadership group are
told once::

    overdue_claims (past a deadline, not escalated, locked) ─▶ mark the deadline escalated
        ─▶ timeline row ``claim_overdue`` + outbox row ``incident.claim_overdue`` (with the
           leads and who is on call) ─▶ commit

The mark is stored on the claim in the same transaction, so a rerun writes nothing; a claim
filed late and then left unanswered is escalated a second time, for its second deadline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from orderwatch.domain import claims as claim_domain
from orderwatch.domain.escalation import Team
from orderwatch.domain.incidents import IncidentEvent
from orderwatch.services.incident_writes import CaseWrites
from orderwatch.services.incidents import IncidentConfig, record
from orderwatch.services.ports import Clock
from orderwatch.services.remedy_ports import RemedyUnitOfWork

CLAIM_ESCALATION_TEAMS = (Team.logistics_emergency, Team.leadership)
ESCALATION_ACTOR = "escalation"


def escalate_overdue_claims(
    uow_factory: Callable[[], RemedyUnitOfWork], clock: Clock, *, config: IncidentConfig
) -> Counter[str]:
    """Escalate every claim past a deadline not escalated yet; counts by deadline."""
    now = clock.now()
    outcome: Counter[str] = Counter()
    while True:
        escalated = 0
        with uow_factory() as uow:
            claims = uow.remedies.overdue_claims(now=now, limit=config.batch)
            incidents = uow.incidents.get_many(sorted({claim.incident_ref for claim in claims}))
            writes = CaseWrites(uow)  # the run's rows written at once, before the commit
            writes.preload(incident.id for incident in incidents.values() if incident.id is not None)
            for claim in claims:
                deadline = claim_domain.deadline_to_escalate(claim, now)
                if deadline is None:
                    continue  # the query and the domain agree; kept as a guard for a clock step
                detail = claim_domain.escalate(claim, deadline, now=now)
                for team in CLAIM_ESCALATION_TEAMS:
                    recipients = uow.incidents.recipients(team, now=now)
                    detail[team.value] = {
                        "leads": list(recipients.leads),
                        "on_call": list(recipients.on_call),
                    }
                uow.remedies.save_claim(claim, now=now)
                incident = incidents[claim.incident_ref]  # one object: two claims of a case see both
                event = IncidentEvent("claim_overdue", incident.ref, now, ESCALATION_ACTOR, detail=detail)
                record(uow, incident, [event], config=config, now=now, writes=writes)
                outcome[deadline.value] += 1
                escalated += 1
            writes.flush()
            uow.commit()
        # A full batch of which nothing could be escalated would come back unchanged: stop.
        if len(claims) < config.batch or not escalated:
            return outcome
