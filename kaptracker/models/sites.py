"""Sites: the clinic's locations. Every client has a home site, every session happens at a site,
and staff work at one or more sites (``staff_site``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..rules.sites import DEFAULT_CRISIS_LINE
from .base import UTCDateTime, not_empty, utcnow


# Which sites a member of staff works at (a supervisor: the sites they supervise). A network lead
# (``user.network_lead``) reaches every site without rows here.
staff_site = Table(
    "staff_site",
    db.metadata,
    Column("user_id", ForeignKey("user.id"), primary_key=True),
    Column("site_id", ForeignKey("site.id"), primary_key=True),
    Index("ix_staff_site_site_id", "site_id"),
)


class Site(db.Model):
    """A clinic location, with its own time zone, DEA registration and crisis line. Never deleted
    (clients point at it): deactivated instead."""

    __tablename__ = "site"
    __table_args__ = (
        CheckConstraint("length(code) >= 2", name="code_not_short"),
        not_empty("name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)  # as long as the clinic.name setting
    address: Mapped[str | None] = mapped_column(Text)
    time_zone: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(40))
    dea_registration: Mapped[str | None] = mapped_column(String(9))
    crisis_line: Mapped[str] = mapped_column(String(40), default=DEFAULT_CRISIS_LINE)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Optimistic locking: an UPDATE names the version it read, so a concurrent edit is detected.
    version: Mapped[int] = mapped_column()
    __mapper_args__ = {"version_id_col": version}


__all__ = ["Site", "staff_site"]
