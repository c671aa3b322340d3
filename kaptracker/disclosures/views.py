"""A client's accounting of disclosures: the page (newest first, paginated) and the CSV."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import clock, paging
from ..access import get_client_for, requires
from ..auditing import record, shown
from ..exports.tables import attachment, csv_text, filename_part
from ..extensions import db
from ..models import AuditAction, Disclosure
from ..rules.access import Permission
from ..templating import localtime
from . import KINDS, PURPOSE_LABELS, accounting_since, accounting_start, bp

MAX_INT = 2**31 - 1


def _query(client_id: int):
    since = accounting_since()
    where = (Disclosure.client_id == client_id, Disclosure.at >= since)
    stmt = (select(Disclosure).where(*where).options(joinedload(Disclosure.user))
            .order_by(Disclosure.at.desc(), Disclosure.id.desc()))
    return stmt, select(Disclosure.id).where(*where)


@bp.route("/clients/<int:client_id>/disclosures")
@requires(Permission.VIEW_DISCLOSURES)
def client_disclosures(client_id: int):
    client = get_client_for(current_user, client_id)
    shown("disclosures", None, client_id=client.id)
    stmt, count_stmt = _query(client.id)
    number = request.args.get("page", 1, type=int)
    page = paging.paginate(stmt, page=number if 1 <= number <= MAX_INT else 1,
                           per_page=current_app.config["DISCLOSURES_PER_PAGE"], count_stmt=count_stmt)
    return render_template("disclosures/index.html", client=client, page=page, kinds=KINDS,
                           purposes=PURPOSE_LABELS, since=accounting_start(clock.today()))


CSV_HEADER = ("When (clinic time)", "Who", "Role", "What", "Kind", "Recipient", "Purpose", "Reason given")


@bp.route("/clients/<int:client_id>/disclosures.csv")
@requires(Permission.VIEW_DISCLOSURES)
def client_disclosures_csv(client_id: int):
    """Every disclosure of the six years, for the client: two queries whatever their number."""
    client = get_client_for(current_user, client_id)
    stmt, _ = _query(client.id)
    rows = [
        (localtime(d.at, "%Y-%m-%d %H:%M"), d.user.name, d.user.role.label, d.what,
         KINDS.get(d.kind, d.kind), d.recipient, PURPOSE_LABELS.get(d.purpose, d.purpose), d.reason)
        for d in db.session.scalars(stmt)
    ]
    record(AuditAction.EXPORT, "disclosures", client_id=client.id,
           detail=f"accounting of disclosures CSV: {len(rows)} rows")
    db.session.commit()
    return attachment(csv_text(CSV_HEADER, rows),
                      f"disclosures-{filename_part(client.record_number)}-{clock.today().isoformat()}.csv",
                      "text/csv")
