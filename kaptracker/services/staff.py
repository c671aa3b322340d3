"""Administration commands: staff accounts (create, edit, reset a password, clear a lockout,
deactivate and reactivate) and the clinic's settings. Administrators open no clinical record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from .. import settings as clinic_settings
from ..admin.forms import clear_name, field_name
from ..auditing import record
from ..auth import sessions
from ..extensions import db
from ..main.conflicts import fingerprint
from ..models import AuditAction, Site, User, normalise_email, utcnow
from ..rules import settings as registry
from ..rules import sites as site_rules
from ..rules.access import Permission, Role, may
from . import Outcome, created
from .once import NO_ERRORS, form_problems, refusal

Errors = Mapping[str, Sequence[str]]
NOT_ADMIN = "Only administrators manage staff accounts."


def version_of(user: User) -> str:
    """Accounts have no version column: a digest of the name and role an edit form shows."""
    return fingerprint(user.name, user.role.value)


def would_remove_last_admin(user: User, *, new_role: str | None = None, deactivate: bool = False) -> bool:
    """True when the change would leave the clinic without an active administrator."""
    if user.role != Role.ADMIN or not user.active:
        return False
    if not deactivate and (new_role is None or new_role == Role.ADMIN.value):
        return False
    others = db.session.scalar(
        select(func.count()).where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
    )
    return others == 0


def _chosen_sites(data: Mapping, role: str) -> list[Site]:
    """The active sites ``data["sites"]`` names (ids); without the key (the create-user command),
    every active site for anyone but an administrator."""
    stmt = select(Site).where(Site.active.is_(True)).order_by(Site.name)
    if "sites" not in data:
        return [] if role == Role.ADMIN.value else list(db.session.scalars(stmt))
    ids = {int(i) for i in data.get("sites") or () if str(i).isdigit()}
    return list(db.session.scalars(stmt.where(Site.id.in_(ids)))) if ids else []


def sites_of(account: User) -> list[Site]:
    """``account.sites``, loaded (relationships load only when asked for: kaptracker.lazyload)."""
    db.session.scalars(select(User).where(User.id == account.id).options(selectinload(User.sites))).one()
    return account.sites


def _where(sites: list[Site], network_lead: bool) -> str:
    where = ", ".join(s.code for s in sorted(sites, key=lambda s: s.code)) or "no site"
    return f"sites {where}" + ("; network lead" if network_lead else "")


def create_user(data: Mapping, user) -> Outcome:
    """An account with ``data``'s name, email, role, initial password and the sites the person
    works at (``sites``, ``network_lead``)."""
    if not may(user.role, Permission.MANAGE_USERS):
        return refusal(NOT_ADMIN)
    sites, lead = _chosen_sites(data, data["role"]), bool(data.get("network_lead"))
    problems = site_rules.staff_site_problems(data["role"], sites=len(sites), network_lead=lead)
    if problems:
        return Outcome(problems={field: [message] for field, message in problems.items()})
    account = User(name=data["name"], email=normalise_email(data["email"]), role=Role(data["role"]),
                   password_hash=sessions.hash_password(data["password"]), sites=sites, network_lead=lead)
    return created(account, user, audit_as="user", detail=f"role {account.role.value}; {_where(sites, lead)}",
                   message=f"Account created for {account.name}.")


def set_sites(account: User, data: Mapping, user) -> Outcome:
    """Where ``account`` works: ``data["sites"]`` (site ids) and ``data["network_lead"]``. Takes
    effect at the person's next page: every list reads their sites as it is drawn."""
    if not may(user.role, Permission.MANAGE_USERS):
        return refusal(NOT_ADMIN)
    sites, lead = _chosen_sites(data, account.role.value), bool(data.get("network_lead"))
    problems = site_rules.staff_site_problems(account.role.value, sites=len(sites), network_lead=lead)
    if problems:
        return Outcome(problems={field: [message] for field, message in problems.items()}, record=account)
    before = _where(sites_of(account), account.network_lead)
    after = _where(sites, lead)
    if before == after:
        return Outcome(record=account, message="Nothing was changed.", category="info")
    account.sites, account.network_lead = sites, lead
    return _updated(account, user, f"{before} -> {after}", f"{account.name} now works at: "
                    + (", ".join(s.name for s in sites) or "no site") + ("; network medical lead" if lead else "") + ".")


def edit_user(account: User, data: Mapping, user) -> Outcome:
    """Save ``account``'s name and role. ``data["version"]`` is :func:`version_of` the account as
    the form was opened: a save by someone else since then is a conflict (nothing written). The
    last active administrator keeps the role; a new role ends the account's open sessions."""
    if not may(user.role, Permission.MANAGE_USERS):
        return refusal(NOT_ADMIN)
    if data.get("version") != version_of(account):
        return Outcome(record=account, conflict=True)
    if would_remove_last_admin(account, new_role=data["role"]):
        return refusal("This is the last active administrator: keep the role.", field="role", record=account)
    loaded = {"name": account.name, "role": account.role.value}
    changed = [name for name in ("name", "role") if loaded[name] != data[name]]
    if not changed:
        return Outcome(record=account, message="Nothing was changed.", category="info")
    # Only over the name and role this form was opened with: a change saved by someone else in
    # the meantime matches no row, and is shown rather than overwritten.
    result = db.session.execute(
        update(User).where(User.id == account.id, User.name == loaded["name"], User.role == Role(loaded["role"]))
        .values(name=data["name"], role=Role(data["role"])).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return Outcome(record=account, conflict=True)
    db.session.expire(account)
    if "role" in changed:  # a new role means new permissions: end the sessions that hold the old ones
        sessions.revoke_all(account, "role changed")
    return _updated(account, user, "changed: " + ", ".join(changed), "Account updated.")


def reset_password(account: User, data: Mapping, user) -> Outcome:
    """Set ``data["password"]``: the account's open sessions end and failed sign-ins are forgotten."""
    if not may(user.role, Permission.MANAGE_USERS):
        return refusal(NOT_ADMIN)
    account.password_hash = sessions.hash_password(data["password"])
    account.password_changed_at = utcnow()
    sessions.revoke_all(account, "password reset")
    sessions.clear_failures(account.email)
    return _updated(account, user, "password reset by administrator",
                    f"Password reset for {account.name}; their open sessions were ended.")


def unlock(account: User, data: Mapping, user) -> Outcome:
    """Forget the account's failed sign-ins (the lockout ends)."""
    if not may(user.role, Permission.MANAGE_USERS):
        return refusal(NOT_ADMIN)
    sessions.clear_failures(account.email)
    return _updated(account, user, "sign-in lockout cleared", f"{account.name} can sign in again.")


def toggle_active(account: User, data: Mapping, user) -> Outcome:
    """Deactivate an active account (ending its sessions), or reactivate one. Nobody deactivates
    their own account, nor the last active administrator."""
    if not may(user.role, Permission.MANAGE_USERS):
        return refusal(NOT_ADMIN)
    if account.active:
        if account.id == user.id:
            return refusal("You cannot deactivate your own account.", record=account)
        if would_remove_last_admin(account, deactivate=True):
            return refusal("This is the last active administrator and cannot be deactivated.", record=account)
        account.active = False
        ended = sessions.revoke_all(account, "deactivated")
        return _updated(account, user, "deactivated", f"{account.name} is deactivated; {ended} open session(s) ended.")
    account.active = True
    return _updated(account, user, "reactivated", f"{account.name} is active again.")


def _updated(account: User, user, detail: str, message: str) -> Outcome:
    """Audit the change to ``account`` (``detail``) and commit; ``message`` is read before the
    commit expires the account."""
    record(AuditAction.UPDATE, "user", account.id, detail=detail, user=user)
    db.session.commit()
    return Outcome(record=account, message=message)


def _parsed(data: Mapping, problems: dict[str, list[str]], specs=None) -> dict[str, Any]:
    """Each setting's value (of ``specs``, else every setting) parsed by its spec (a field
    already refused is left out; one its spec refuses gets the spec's message in ``problems``)."""
    parsed = {}
    for spec in registry.SPECS if specs is None else specs:
        name = field_name(spec.key)
        if name in problems:
            continue
        try:
            parsed[spec.key] = spec.parse(data.get(name))
        except ValueError as exc:
            problems[name] = [str(exc)]
    return parsed


def save_settings(values: dict, data: Mapping, user, *, form_errors: Errors = NO_ERRORS) -> Outcome:
    """Save the settings that differ from ``values`` (those in force when the form was checked).
    ``data["version"]`` is the settings' revision the form was opened at: a save since then, or
    one racing this one, is a conflict. A clinical setting needs the medical lead's sign-off
    (``approved_by``); every field is checked, so all problems come back at once."""
    if not may(user.role, Permission.MANAGE_SETTINGS):
        return refusal("Only administrators change the clinic's settings.")
    if data.get("version") != str(clinic_settings.revision(fresh=True).version):
        return Outcome(conflict=True)
    problems = form_problems(form_errors)
    parsed = _parsed(data, problems)
    changed = [key for key, value in parsed.items() if value != values[key]]
    _needs_sign_off(changed, data, problems)
    if problems:
        return Outcome(problems=problems, category="error")
    if not changed:
        return Outcome(message="No setting was changed.", category="info")
    for key in changed:
        clinic_settings.change(key, parsed[key], user=user, reason=data["reason"],
                               approved_by=data.get("approved_by") if registry.SPECS_BY_KEY[key].clinical else None)
    record(AuditAction.UPDATE, "setting", detail="changed: " + ", ".join(changed), user=user)
    return _settings_committed(f"{len(changed)} setting(s) changed.")


BOTH = "Either change the value or go back to the network default, not both."


def _needs_sign_off(keys, data: Mapping, problems: dict[str, list[str]]) -> None:
    clinical = [key for key in keys if registry.SPECS_BY_KEY[key].clinical]
    if not problems and clinical and not data.get("approved_by"):
        problems["approved_by"] = ["Name the medical lead who signed off the change to: "
                                   + ", ".join(registry.SPECS_BY_KEY[k].label for k in clinical) + "."]


def save_site_settings(site: Site, values: dict, overridden, data: Mapping, user, *,
                       form_errors: Errors = NO_ERRORS) -> Outcome:
    """Save a site's own values of the per-site settings: a value that differs from ``values``
    (in force at ``site`` when the form was checked) becomes the site's override; a setting
    ``overridden`` there whose "Use the network default" box is ticked goes back to the
    network's value (a clearing row). As on the network's page: the revision the form was
    opened at (``data["version"]``), every field checked at once, and a clinical setting
    (changed or given back to the network) needs the medical lead's sign-off."""
    if not may(user.role, Permission.MANAGE_SETTINGS):
        return refusal("Only administrators change the clinic's settings.")
    if data.get("version") != str(clinic_settings.revision(fresh=True).version):
        return Outcome(conflict=True)
    problems = form_problems(form_errors)
    specs = [spec for spec in registry.SPECS if spec.per_site]
    parsed = _parsed(data, problems, specs)
    cleared = [spec.key for spec in specs if spec.key in overridden and data.get(clear_name(spec.key))]
    for key in cleared:
        if key in parsed and parsed[key] != values[key]:
            problems.setdefault(field_name(key), []).append(BOTH)
    changed = [key for key, value in parsed.items() if key not in cleared and value != values[key]]
    _needs_sign_off(changed + cleared, data, problems)
    if problems:
        return Outcome(problems=problems, category="error")
    if not changed and not cleared:
        return Outcome(message=f"No setting of {site.name} was changed.", category="info")
    for key in changed:
        clinic_settings.change(key, parsed[key], user=user, reason=data["reason"], site_id=site.id,
                               approved_by=data.get("approved_by") if registry.SPECS_BY_KEY[key].clinical else None)
    for key in cleared:
        clinic_settings.clear(key, site_id=site.id, user=user, reason=data["reason"],
                              approved_by=data.get("approved_by") if registry.SPECS_BY_KEY[key].clinical else None)
    detail = "; ".join(part for part in (
        changed and "changed: " + ", ".join(changed),
        cleared and "network default again: " + ", ".join(cleared)) if part)
    record(AuditAction.UPDATE, "setting", site.id, detail=f"at site {site.code}: {detail}", user=user)
    return _settings_committed(f"{len(changed) + len(cleared)} setting(s) of {site.name} changed.")


def _settings_committed(message: str) -> Outcome:
    """Commit a settings save; the revision's version check makes a save that raced another
    administrator's a conflict, nothing written."""
    try:
        db.session.commit()
    except StaleDataError:  # another administrator's save won by a moment
        db.session.rollback()
        return Outcome(conflict=True)
    return Outcome(message=message)


__all__ = ["create_user", "edit_user", "reset_password", "save_settings", "save_site_settings", "toggle_active",
           "unlock", "version_of", "would_remove_last_admin"]
