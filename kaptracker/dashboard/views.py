"""The caseload dashboard: per therapist, clients by phase; the worklist of what needs attention.

Supervisors see every therapist; a therapist sees their own caseload. Filters (therapist, phase,
route, kind of item) and sorting are query-string arguments (ids and codes only, no names);
both tables are paginated in the database.
"""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user
from sqlalchemy import case, func, select, union_all

from .. import settings
from ..access import requires
from ..scope import listed_site_id, listed_sites, listing_clause, lists_everyone, staff_clause
from ..auditing import record, listed
from ..extensions import db
from ..forms import positive_int
from ..models import AuditAction, Client, ClientStatus, Course, Indication, Site, User, utcnow
from ..rules.access import Permission, Role
from ..rules.dosing import Route
from ..rules.phases import Phase
from ..rules.scales import OutcomeRules
from . import bp
from .outcomes import coverage, figures
from .worklist import COUNT_CAP, KINDS, KINDS_BY_KEY, SORTS, capped_counts, item_queries, narrowed, top_items

OPEN_PHASES = (Phase.PREPARATION, Phase.MEDICINE, Phase.INTEGRATION)


def _filters() -> dict:
    args = request.args
    filters: dict = {}
    therapist = args.get("therapist", type=positive_int)
    if therapist and current_user.role == Role.SUPERVISOR:
        filters["therapist"] = therapist
    if args.get("phase") in {p.value for p in OPEN_PHASES}:
        filters["phase"] = args["phase"]
    if args.get("route") in {r.value for r in Route}:
        filters["route"] = args["route"]
    if args.get("flag") in KINDS_BY_KEY:
        filters["flag"] = args["flag"]
    if args.get("sort") in SORTS:
        filters["sort"] = args["sort"]
    return filters


def _scoped(stmt, filters):
    stmt = stmt.where(listing_clause(current_user))
    if "therapist" in filters:
        stmt = stmt.where(Client.therapist_id == filters["therapist"])
    return stmt


def phase_table(filters, page_number: int):
    """Therapists (a page of them) with their open courses by phase and clients with none."""
    supervisor = current_user.role == Role.SUPERVISOR
    staff = select(User).where(User.role == Role.THERAPIST, staff_clause(current_user))
    if not supervisor:
        staff = staff.where(User.id == current_user.id)
    elif "therapist" in filters:
        staff = staff.where(User.id == filters["therapist"])
    staff_page = db.paginate(staff.order_by(User.active.desc(), User.name, User.id), page=page_number,
                             per_page=current_app.config.get("STAFF_PER_PAGE", 25), error_out=False)
    counts = _phase_counts(Client.therapist_id, [u.id for u in staff_page.items], filters)
    return staff_page, counts


def _phase_counts(group, ids: list[int], filters) -> dict[int, dict[str, int]]:
    """Per ``group`` value in ``ids`` (a therapist, a site): courses by phase from the course
    rollup, clients, and clients with no open course; two grouped queries."""
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return counts
    course_counts = select(group, Course.phase, func.count()).join(
        Course, Course.client_id == Client.id).where(group.in_(ids))
    if "route" in filters:
        course_counts = course_counts.where(Course.planned_route == filters["route"])
    for key, phase, n in db.session.execute(_scoped(course_counts, filters).group_by(group, Course.phase)):
        counts[key][Phase(phase).value] = n
    has_open = select(Course.id).where(Course.client_id == Client.id, Course.end_reason.is_(None)).exists()
    for key, waiting, total in db.session.execute(
        _scoped(select(group, func.sum(case((~has_open & (Client.status != ClientStatus.DISCHARGED), 1), else_=0)),
                       func.count()).where(group.in_(ids)), filters)
        .group_by(group)
    ):
        counts[key]["no_course"] = int(waiting or 0)
        counts[key]["clients"] = total
    return counts


def site_table(filters) -> tuple[list[Site], dict[int, dict[str, int]]]:
    """The network's rollup, for a supervisor whose lists span sites: each site's clients by
    phase (none when the lists show one site)."""
    if current_user.role != Role.SUPERVISOR or listed_site_id(current_user) is not None:
        return [], {}
    sites = listed_sites(current_user)
    stmt = select(Site).order_by(Site.name)
    if sites is not None:
        if len(sites) < 2:
            return [], {}
        stmt = stmt.where(Site.id.in_(sites))
    rows = list(db.session.scalars(stmt))
    return rows, _phase_counts(Client.home_site_id, [site.id for site in rows], filters)


def worklist(filters, page_number: int):
    supervisor = current_user.role == Role.SUPERVISOR
    now = utcnow()
    # The scope and the filters inside each kind's query (see worklist.narrowed).
    # A caseload's client ids are read first (one small query): as a list, each kind's query
    # starts from those clients' courses instead of testing every item against the scope.
    client_ids = None
    if not lists_everyone(current_user) or "therapist" in filters:
        client_ids = list(db.session.scalars(_scoped(select(Client.id), filters)))
    queries = narrowed(item_queries(now, supervisor=supervisor), client_ids=client_ids,
                       phase=filters.get("phase"), route=filters.get("route"))
    chosen = {filters["flag"]: queries[filters["flag"]]} if filters.get("flag") in queries else queries
    per_page = current_app.config.get("WORKLIST_PER_PAGE", 25)
    sort = filters.get("sort", "oldest")
    if sort in ("oldest", "newest", "kind"):
        # Ordered by time (within kind): a page needs at most this many rows of each kind.
        items = top_items(chosen, page_number * per_page, newest=sort == "newest")
    else:
        items = union_all(*chosen.values()).subquery("items")
    therapist = User.__table__.alias("therapist")
    base = (
        select(items.c.kind, items.c.target_id, items.c.since, Client.id.label("client_id"),
               Client.given_name, Client.family_name, Client.preferred_name, Client.record_number,
               therapist.c.name.label("therapist_name"), Course.id.label("course_id"), Course.phase,
               Course.planned_route)
        .select_from(items)
        .join(Client, Client.id == items.c.client_id)
        .outerjoin(Course, Course.id == items.c.course_id)  # emergency access may be to a client with none
        .join(therapist, therapist.c.id == Client.therapist_id)
    )
    base = _scoped(base, filters)
    if "phase" in filters:
        base = base.where(Course.phase == filters["phase"])
    if "route" in filters:
        base = base.where(Course.planned_route == filters["route"])
    order = {
        "oldest": (items.c.since.asc(),),
        "newest": (items.c.since.desc(),),
        "client": (Client.family_name, Client.given_name),
        "therapist": (therapist.c.name, items.c.since),
        "kind": (case({k.key: i for i, k in enumerate(KINDS)}, value=items.c.kind), items.c.since),
    }[sort]
    rows = db.session.execute(
        base.order_by(*order, items.c.kind, items.c.target_id)
        .limit(per_page).offset((page_number - 1) * per_page)
    ).all()
    # How many of each kind (with the therapist/phase/route filters, not the kind filter): one
    # query, each kind counted up to COUNT_CAP + 1.
    kind_counts = capped_counts(queries)
    total = kind_counts.get(filters["flag"], 0) if "flag" in filters else sum(kind_counts.values())
    return rows, kind_counts, total, per_page


@bp.route("/dashboard/")
@requires(Permission.VIEW_DASHBOARD)
def index():
    filters = _filters()
    page_number = request.args.get("page", 1, type=positive_int) or 1
    staff_page_number = request.args.get("tpage", 1, type=positive_int) or 1
    staff_page, counts = phase_table(filters, staff_page_number)
    sites, site_counts = site_table(filters)
    rows, kind_counts, total, per_page = worklist(filters, page_number)
    pages = max(1, -(-total // per_page))
    # Counts beyond the cap are shown as "1,000+" (and a total that includes one, with a "+").
    over = {k for k, n in kind_counts.items() if n > COUNT_CAP}
    shown_counts = {k: (f"{COUNT_CAP:,}+" if k in over else n) for k, n in kind_counts.items()}
    if over and (filters.get("flag") in over or "flag" not in filters):
        total = f"{total - len(over):,}+"  # each capped kind counted COUNT_CAP + 1
    supervisor = current_user.role == Role.SUPERVISOR
    therapists = (db.session.execute(select(User.id, User.name).where(User.role == Role.THERAPIST,
                                                                      staff_clause(current_user))
                                     .order_by(User.name)).all() if supervisor else [])
    record(AuditAction.VIEW, "dashboard", detail=f"worklist page {page_number}, {len(rows)} of {total} items")
    db.session.commit()
    listed(r.client_id for r in rows)
    return render_template(
        "dashboard/index.html", filters=filters, staff_page=staff_page, counts=counts, rows=rows,
        kinds=[k for k in KINDS if supervisor or not k.supervisors_only], kinds_by_key=KINDS_BY_KEY,
        kind_counts=shown_counts, total=total, page=page_number, pages=pages, sorts=SORTS,
        phases=OPEN_PHASES, routes=list(Route), therapists=therapists, supervisor=supervisor,
        now=utcnow(), sites=sites, site_counts=site_counts,
    )


@bp.route("/dashboard/outcomes")
@requires(Permission.VIEW_OUTCOMES)
def outcomes():
    values = settings.current()
    rules = OutcomeRules.from_settings(values)
    minimum = values["outcomes.minimum_clients"]
    result = figures(rules, minimum, listed_sites(current_user))
    record(AuditAction.VIEW, "outcomes", detail="caseload outcomes")
    db.session.commit()
    labels = {r.value: r.label for r in Route} | {i.value: i.label for i in Indication}
    labels["all"] = "All courses"
    return render_template("dashboard/outcomes.html", result=result, rules=rules, minimum=minimum,
                           labels=labels, coverage=coverage(listed_sites(current_user)))
