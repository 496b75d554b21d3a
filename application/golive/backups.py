"""Backups for the go-live gate: take one (a consistent copy of the store and its manifest),
verify one (restore it into a scratch store and compare it row by row with the manifest), and
the checklist item "a backup taken within 24 h and verified by a restore".

Both results go to the append-only audit trail (kind BACKUP, data as in the go-live contract);
the checklist reads them from there. The engine-specific parts (the consistent read, the dump,
the restore into a scratch store) sit behind `BackupEngine`: adapters/sqlite/backup.py and
adapters/postgres/backup.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import attrs

from application.golive.backup_manifest import (
    BackupError,
    Manifest,
    TableDigest,
    digest_rows,
    file_sha256,
    first_difference,
    manifest_path,
    read_manifest,
    write_manifest,
)
from application.golive.checklist import ItemResult
from application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind

SECTION = "Infrastructure"
ITEM = "backup verified"
_AUDIT_LIMIT = 1_000_000  # lists are the newest `limit`: every backup entry there is


class StoreView(Protocol):
    """One consistent view of a store's tables (a snapshot of the live store, or a restored copy)."""

    def schema_version(self) -> int: ...

    def tables(self) -> list[str]:
        """Every table holding the store's data (the engine's own catalogue tables excluded), sorted."""
        ...

    def rows(self, table: str) -> Iterator[tuple[str, bytes]]:
        """The table's rows in primary-key order: (the key for a person, e.g. "id=3", the row's
        canonical bytes). The same row gives the same bytes in a snapshot and in its restored copy.
        Raises BackupError, naming the table, when they cannot be read (a damaged copy)."""
        ...

    def damage(self) -> list[str]:
        """What the engine found wrong while restoring or checking this copy (empty: nothing)."""
        ...


class StoreSnapshot(StoreView, Protocol):
    def dump_to(self, path: Path) -> None:
        """Write the backup file of exactly this view to `path` (a new file). Raises BackupError."""
        ...


class BackupEngine(Protocol):
    engine: str  # "sqlite" | "postgres", as the audit data and the manifest name it
    location: str  # the store, for a person (never a password)

    def snapshot(self) -> AbstractContextManager[StoreSnapshot]:
        """A consistent read of the live store that writers do not wait for."""
        ...

    def restore(self, path: Path) -> AbstractContextManager[StoreView]:
        """The backup at `path` restored into a scratch store, removed on leaving. Raises
        BackupError (naming the file and what is wrong) when it does not restore."""
        ...


@attrs.frozen(kw_only=True)
class BackupResult:
    event: str  # "taken" | "verified"
    path: Path
    engine: str
    tables: dict[str, int]
    sha256: str
    passed: bool
    detail: str

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"event": self.event, "path": str(self.path), "engine": self.engine,
                                   "tables": dict(self.tables), "sha256": self.sha256, "detail": self.detail}
        if self.event == "verified":
            data["passed"] = self.passed
        return data


def backup_target(to: Path, *, engine: str, now: datetime, force: bool = False) -> Path:
    """The file a backup goes to: `to`, or a dated name inside `to` when it is a directory."""
    target = to.expanduser().absolute()
    if target.is_dir():
        suffix = ".db" if engine == "sqlite" else ".dump"
        target = target / f"quantshift-{engine}-{now:%Y%m%dT%H%M%SZ}{suffix}"
    if not target.parent.is_dir():
        raise BackupError(f"cannot write the backup to {target}: there is no directory {target.parent}")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists: choose another path, or pass --force to replace it")
    return target


def take_backup(*, engine: BackupEngine, store: UnitOfWorkFactory, clock: Clock, to: Path,
                force: bool = False) -> BackupResult:
    """A consistent backup of the store at `to`, its manifest beside it, recorded as "taken"."""
    now = clock.now()
    target = backup_target(to, engine=engine.engine, now=now, force=force)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)  # a leftover of an interrupted backup
    try:
        # The manifest and the dump read the same snapshot, so they agree while writers go on.
        with engine.snapshot() as snapshot:
            version = snapshot.schema_version()
            tables = tuple(digest_rows(name, snapshot.rows(name)) for name in snapshot.tables())
            snapshot.dump_to(partial)
        partial.replace(target)
    except OSError as exc:
        raise BackupError(f"cannot write the backup to {target}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    sha256 = file_sha256(target)
    manifest = Manifest(engine=engine.engine, store=engine.location, schema_version=version,
                        taken_at=now.isoformat(), backup_file=target.name, sha256=sha256,
                        size=target.stat().st_size, tables=tables)
    written = write_manifest(target, manifest)
    rows = sum(t.rows for t in tables)
    result = BackupResult(
        event="taken", path=target, engine=engine.engine, tables=manifest.table_rows(), sha256=sha256, passed=True,
        detail=f"{len(tables)} tables, {rows} rows, schema version {version}, {manifest.size} bytes; "
               f"manifest {written.name}",
    )
    _record(store, result, ts=now, message=f"backup taken: {target} ({len(tables)} tables, {rows} rows)")
    return result


def verify_backup(*, engine: BackupEngine, store: UnitOfWorkFactory, clock: Clock, path: Path,
                  store_schema_version: int) -> BackupResult:
    """Restore the backup at `path` into a scratch store and compare it with its manifest; the
    result (passed or not, and why) is recorded as "verified". The live store is only read
    (its schema version, the backup's "taken" entry) and appended to (the result)."""
    path = path.expanduser().absolute()
    problems: list[str] = []
    sha256 = ""
    tables: dict[str, int] = {}
    try:
        if not path.is_file():
            raise BackupError(f"there is no backup file at {path}" if not path.exists()
                              else f"{path} is not a file")
        manifest = read_manifest(path)
        tables = manifest.table_rows()
        if manifest.engine != engine.engine:
            raise BackupError(f"{path} is a {manifest.engine} backup; this store is {engine.engine} "
                              f"({engine.location}): verify it against a {manifest.engine} store")
        sha256 = file_sha256(path)
        if sha256 != manifest.sha256:
            problems.append(f"{path}: its sha256 {sha256[:12]}... is not the manifest's {manifest.sha256[:12]}... "
                            "(the file changed or was damaged after the backup)")
        problems += _against_the_trail(store, manifest=manifest, path=path)
        try:
            with engine.restore(path) as copy:
                restored = _compare(copy, manifest=manifest, store_schema_version=store_schema_version)
        except BackupError as exc:
            names = sorted(tables)
            raise BackupError(f"{exc}; so none of its {len(names)} tables could be compared with the manifest"
                              + (f" (the first: {names[0]})" if names else "")) from None
        problems += restored.problems
        tables = restored.tables
    except BackupError as exc:
        problems.append(str(exc))
    passed = not problems
    detail = ("; ".join(problems) if problems else
              f"restored into a scratch store: {len(tables)} tables, {sum(tables.values())} rows "
              f"match the manifest ({manifest_path(path).name}), schema version {store_schema_version}")
    result = BackupResult(event="verified", path=path, engine=engine.engine, tables=tables, sha256=sha256,
                          passed=passed, detail=detail)
    _record(store, result, ts=clock.now(), severity="info" if passed else "warning",
            message=f"backup {'verified' if passed else 'FAILED verification'}: {path}")
    return result


@attrs.frozen(kw_only=True)
class _Restored:
    tables: dict[str, int]
    problems: list[str]


def _compare(copy: StoreView, *, manifest: Manifest, store_schema_version: int) -> _Restored:
    problems: list[str] = list(copy.damage())
    version = copy.schema_version()
    if version != manifest.schema_version:
        problems.append(f"the restored copy has schema version {version}, the manifest says {manifest.schema_version}")
    if version != store_schema_version:
        problems.append(f"the backup has schema version {version}, this store {store_schema_version}: "
                        "it restores only with a QuantShift of its own version (then `quantshift db upgrade`)")
    expected: dict[str, TableDigest] = {t.name: t for t in manifest.tables}
    names = copy.tables()
    missing = sorted(set(expected) - set(names))
    extra = sorted(set(names) - set(expected))
    if missing:
        problems.append(f"table {missing[0]} is missing from the restored copy"
                        + (f" (and {', '.join(missing[1:])})" if missing[1:] else ""))
    if extra:
        problems.append(f"table {extra[0]} of the restored copy is not in the manifest"
                        + (f" (and {', '.join(extra[1:])})" if extra[1:] else ""))
    counts: dict[str, int] = {}
    for name in names:
        want = expected.get(name)
        try:
            if want is None:
                counts[name] = sum(1 for _ in copy.rows(name))
                continue
            counts[name], difference = first_difference(want, copy.rows(name))
        except BackupError as exc:
            problems.append(str(exc))
            continue
        if difference is not None:
            problems.append(f"table {name}: {counts[name]} rows restored, {want.rows} in the manifest; {difference}"
                            if counts[name] != want.rows else f"table {name}: {difference}")
    return _Restored(tables=counts, problems=problems)


def _against_the_trail(store: UnitOfWorkFactory, *, manifest: Manifest, path: Path) -> list[str]:
    """A backup taken from this store was recorded with its tables: a manifest that no longer
    says the same was changed since."""
    with store() as uow:
        taken = [e for e in _backup_entries(uow) if e.data.get("event") == "taken"
                 and e.data.get("sha256") == manifest.sha256]
    if taken and dict(taken[-1].data.get("tables", {})) != manifest.table_rows():  # type: ignore[call-overload]
        return [f"{manifest_path(path)} lists other row counts than the audit trail recorded when {path} was taken "
                f"({taken[-1].ts:%Y-%m-%d %H:%M} UTC)"]
    return []


def _record(store: UnitOfWorkFactory, result: BackupResult, *, ts: datetime, message: str,
            severity: str = "info") -> None:
    with store() as uow:
        uow.audit.append(AuditEntry(ts=ts, kind=AuditKind.BACKUP, message=message, account="",
                                    data=result.to_json(), severity=severity))
        uow.commit()


def _backup_entries(uow: UnitOfWork) -> list[AuditEntry]:
    return uow.audit.list(kind=AuditKind.BACKUP.value, limit=_AUDIT_LIMIT)


def latest_verified_backup(uow: UnitOfWork) -> AuditEntry | None:
    """The newest passing verification of a backup taken from this store (a "taken" entry with
    the same sha256), or None."""
    entries = _backup_entries(uow)
    taken = {e.data.get("sha256") for e in entries if e.data.get("event") == "taken"}
    passing = [e for e in entries if e.data.get("event") == "verified" and e.data.get("passed") is True
               and e.data.get("sha256") in taken]
    return passing[-1] if passing else None


def backup_item(uow: UnitOfWork, *, now: datetime, max_age: timedelta = timedelta(hours=24)) -> ItemResult:
    """Passes when a backup taken within `max_age` has a passing verification; otherwise says
    what to run. Never raises for a deployment without backups."""
    age_text = _duration(max_age)
    requirement = f"a backup taken within {age_text} and verified by a restore into a scratch store"
    entries = _backup_entries(uow)
    taken = [e for e in entries if e.data.get("event") == "taken"]
    verified = [e for e in entries if e.data.get("event") == "verified"]
    recent = [e for e in taken if now - max_age <= e.ts <= now]
    for backup in reversed(recent):
        checks = [v for v in verified if v.data.get("sha256") == backup.data.get("sha256") and v.ts >= backup.ts]
        if any(v.data.get("passed") is True for v in checks):
            check = next(v for v in reversed(checks) if v.data.get("passed") is True)
            return ItemResult(section=SECTION, item=ITEM, requirement=requirement, passed=True,
                              figure=f"{backup.data.get('path')} taken {_when(backup.ts, now)}, "
                                     f"verified {_when(check.ts, now)}")
    take = "`quantshift db backup --to PATH`, then `quantshift db verify-backup PATH`"
    if not taken:
        figure, detail = "no backup on record", f"take a backup and verify it: {take}"
    elif not recent:
        last = taken[-1]
        figure = f"the latest backup, {last.data.get('path')}, was taken {_when(last.ts, now)}"
        detail = f"it is older than {age_text}: take a new one and verify it: {take}"
    else:
        last = recent[-1]
        checks = [v for v in verified if v.data.get("sha256") == last.data.get("sha256") and v.ts >= last.ts]
        figure = f"{last.data.get('path')} taken {_when(last.ts, now)}"
        if checks:
            figure += f", verification FAILED {_when(checks[-1].ts, now)}"
            detail = (f"{checks[-1].data.get('detail')}; take a new backup and verify it: {take}")
        else:
            figure += ", not verified"
            detail = f"verify it: `quantshift db verify-backup {last.data.get('path')}`"
    return ItemResult(section=SECTION, item=ITEM, requirement=requirement, figure=figure, passed=False,
                      detail=detail)


def _when(ts: datetime, now: datetime) -> str:
    return f"{ts:%Y-%m-%d %H:%M} UTC ({_duration(now - ts)} ago)"


def _duration(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours >= 48:
        return f"{hours / 24:.0f} days"
    if hours >= 1:
        return f"{hours:.0f} h" if hours == int(hours) else f"{hours:.1f} h"
    return f"{max(delta.total_seconds(), 0) / 60:.0f} min"
