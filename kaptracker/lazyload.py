"""Tests: a relationship lazily loaded with SQL during a request raises instead of querying.

Every page loads what it shows with explicit eager loading (``joinedload``/``selectinload``), so
its query count is a constant. With ``RAISE_ON_LAZY_LOAD`` set (the test suite sets it), every
ORM SELECT run inside a request gets ``raiseload("*", sql_only=True)``: touching a relationship
that was not loaded, and is not already in the session, raises ``InvalidRequestError`` at the
line that would have run the extra query. No model is edited; production is unaffected.
"""

from __future__ import annotations

from flask import current_app, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, raiseload


def _raise_on_lazy_load(state: ORMExecuteState) -> None:
    if not (state.is_select and has_request_context()):
        return
    if state.is_relationship_load or state.is_column_load:
        return  # the loads that eager loading and refreshes run themselves
    if current_app.config.get("RAISE_ON_LAZY_LOAD"):
        state.statement = state.statement.options(raiseload("*", sql_only=True))


def init_app() -> None:
    if not event.contains(Session, "do_orm_execute", _raise_on_lazy_load):
        event.listen(Session, "do_orm_execute", _raise_on_lazy_load)
