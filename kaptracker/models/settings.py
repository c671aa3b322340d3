"""Setting changes: the network's value for a key is its newest row without a site (or the
built-in default); a site's is its newest row for that site unless that row is a clear, else the
network's (kaptracker.settings)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .users import User


class SettingChange(db.Model):
    """Rows are only ever added, so the value in force at any past moment, at any site, can be
    recovered."""

    __tablename__ = "setting_change"
    __table_args__ = (
        Index("ix_setting_change_key_site_at", "key", "site_id", "changed_at"),
        CheckConstraint("NOT cleared OR site_id IS NOT NULL", name="cleared_at_a_site"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    value: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str] = mapped_column(Text)
    # The medical lead who signed off a clinical setting (thresholds, dose ranges...).
    approved_by: Mapped[str | None] = mapped_column(String(120))
    # The site the change applies at (an override of the network's value); None: the network's.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    # The site goes back to the network's value for this key (``value`` is then empty).
    cleared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    changed_by: Mapped[User] = relationship()


class SettingRevision(db.Model):
    """One row counting saves of the settings: the version the settings page carries. Every save
    sets ``version`` to the next number in an UPDATE that names the version it read (SQLAlchemy's
    version counter), so of two administrators saving at the same instant the second matches no
    row (StaleDataError) and gets the conflict page, as every other edit does."""

    __tablename__ = "setting_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column()
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
