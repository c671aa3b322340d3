"""The co-sign worklist: each supervisee's figures over the review window, and the signed notes
of one of them awaiting a co-signature."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import joinedload

from .. import settings
from ..extensions import db
from ..models import Client, ClinicalSession, Course, User
from ..rules.access import Role
from .sql import plus_hours

NOTES_LIMIT = 100


def supervisee_figures(author_ids: list[int], now: dt.datetime) -> dict[int, dict]:
    """Per author, over the window: notes signed, signed on time, co-signed, unsigned late."""
    if not author_ids:
        return {}
    values = settings.current()
    hours = values["review.unsigned_after_hours"]
    since = now - dt.timedelta(days=values["review.cosign_window_days"])
    late_limit = now - dt.timedelta(hours=hours)
    cs = ClinicalSession
    rows = db.session.execute(
        select(
            cs.author_id,
            func.count(cs.signed_at).label("signed"),
            func.sum(case((and_(cs.signed_at.is_not(None), cs.signed_at <= plus_hours(cs.occurred_at, hours)), 1),
                          else_=0)).label("on_time"),
            func.count(cs.cosigned_at).label("cosigned"),
            func.sum(case((and_(cs.signed_at.is_(None), cs.occurred_at < late_limit), 1), else_=0)).label("late"),
            func.count().label("notes"),
        )
        .where(cs.author_id.in_(author_ids), cs.occurred_at >= since)
        .group_by(cs.author_id)
    )
    return {row.author_id: row._asdict() for row in rows}


def _of_clients(stmt, clients):
    """``stmt`` on ClinicalSession, kept to the sessions of clients matching ``clients``."""
    if clients is None:
        return stmt
    return stmt.join(Course, Course.id == ClinicalSession.course_id).join(
        Client, Client.id == Course.client_id).where(clients)


def waiting_counts(author_ids: list[int], clients=None) -> dict[int, int]:
    """Per author, signed notes not co-signed yet (of the clients matching ``clients``)."""
    return dict(db.session.execute(
        _of_clients(select(ClinicalSession.author_id, func.count()), clients)
        .where(ClinicalSession.signed_at.is_not(None), ClinicalSession.cosigned_at.is_(None),
               ClinicalSession.author_id.in_(author_ids))
        .group_by(ClinicalSession.author_id)
    ).all())


def supervisee(user_id: int | None) -> User | None:
    """The therapist or member of medical staff chosen, if that is who ``user_id`` is."""
    chosen = db.session.get(User, user_id) if user_id else None
    return chosen if chosen is not None and chosen.role in (Role.THERAPIST, Role.MEDICAL) else None


def awaiting_cosign(author: User, clients=None) -> list[ClinicalSession]:
    """``author``'s signed notes awaiting a co-signature (of the clients matching ``clients``),
    oldest signature first."""
    return list(db.session.scalars(
        _of_clients(select(ClinicalSession), clients)
        .where(ClinicalSession.author_id == author.id, ClinicalSession.signed_at.is_not(None),
               ClinicalSession.cosigned_at.is_(None))
        .options(joinedload(ClinicalSession.course).joinedload(Course.client))
        .order_by(ClinicalSession.signed_at).limit(NOTES_LIMIT)
    ))


@dataclasses.dataclass
class Worklist:
    staff_page: object  # a page of active therapists and medical staff
    figures: dict[int, dict]
    waiting: dict[int, int]
    chosen: User | None
    notes: list[ClinicalSession]
    hours: int  # a note is late when unsigned this long after the session
    window_days: int


def worklist(therapist_id: int | None, page_number: int, per_page: int, now: dt.datetime, *,
             staff=true(), clients=None) -> Worklist:
    """``staff`` (on :class:`User`) and ``clients`` (on :class:`Client`): the conditions keeping
    the staff and the clients of the sites the supervisor's lists show."""
    staff_page = db.paginate(
        select(User).where(User.role.in_([Role.THERAPIST, Role.MEDICAL]), User.active.is_(True), staff)
        .order_by(User.name, User.id),
        page=page_number, per_page=per_page, error_out=False,
    )
    ids = [u.id for u in staff_page.items]
    figures = supervisee_figures(ids, now)
    waiting = waiting_counts(ids, clients)
    chosen = supervisee(therapist_id)
    values = settings.current()
    return Worklist(staff_page=staff_page, figures=figures, waiting=waiting, chosen=chosen,
                    notes=awaiting_cosign(chosen, clients) if chosen is not None else [],
                    hours=values["review.unsigned_after_hours"], window_days=values["review.cosign_window_days"])


__all__ = ["Worklist", "awaiting_cosign", "supervisee_figures", "worklist"]
