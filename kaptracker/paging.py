"""Pages of a long list with a capped count (issue 6): counting every matching row of a table of
millions costs more than the page itself, and nobody reads "page 1 of 149,958". Up to ``CAP``
rows the total is exact; beyond it the page says "more than 10,000" and Next stays available.
"""

from __future__ import annotations

from sqlalchemy import func, select

from .extensions import db

CAP = 10_000


def paginate(stmt, *, page: int, per_page: int, count_stmt=None, cap: int = CAP):
    """``db.paginate`` without the exact count: ``count_stmt`` (default ``stmt``; give a lighter
    SELECT of the same rows, e.g. ids only) is counted up to ``cap`` + 1 rows."""
    result = db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=False)
    counted = (count_stmt if count_stmt is not None else stmt).order_by(None).limit(cap + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(counted))
    if total > cap:
        # Enough pages for the one shown and the next, when this one is full.
        shown_to = (result.page - 1) * per_page + len(result.items)
        result.total = max(total, shown_to + (1 if len(result.items) == per_page else 0))
        result.total_label = f"more than {cap:,}"
    else:
        result.total = total
    return result
