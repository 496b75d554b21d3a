"""What a backup holds, written beside it: every table, its row count and a digest of its rows
in primary-key order, the store's schema version, and the backup file's sha256.

The digests are computed here, from the rows an engine hands over (`StoreView.rows`), so the
backup and the restore that verifies it are measured by one algorithm. Each row's digest is kept
(8 bytes of it), so a mismatch names the first row that differs, not only its table.

The manifest is our own JSON file beside the backup (`<backup>.manifest.json`); reading and
writing it needs nothing beyond the standard library, so it has no port of its own.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from domain.errors import RejectedError

FORMAT = "quantshift-backup-manifest"
FORMAT_VERSION = 1
ROW_DIGEST_BYTES = 8  # enough to find the first differing row; the table digest is the full sha256
MANIFEST_SUFFIX = ".manifest.json"


class BackupError(RejectedError):
    """A backup cannot be taken, read or restored; the message names the file and what is wrong."""


@attrs.frozen(kw_only=True)
class TableDigest:
    name: str
    rows: int
    digest: str  # sha256 hex over every row's full digest, in primary-key order
    row_digests: bytes = attrs.field(repr=False)  # ROW_DIGEST_BYTES per row, same order


def digest_rows(name: str, rows: Iterable[tuple[str, bytes]]) -> TableDigest:
    """The digest of a table from its rows in primary-key order: (key for a person, canonical bytes)."""
    table = hashlib.sha256()
    prefixes = bytearray()
    count = 0
    for _key, canonical in rows:
        row = hashlib.sha256(canonical).digest()
        table.update(row)
        prefixes += row[:ROW_DIGEST_BYTES]
        count += 1
    return TableDigest(name=name, rows=count, digest=table.hexdigest(), row_digests=bytes(prefixes))


def first_difference(expected: TableDigest, rows: Iterable[tuple[str, bytes]]) -> tuple[int, str | None]:
    """How many rows there are, and None when they match `expected` exactly, else which row
    differs first, for a person: "row 3 (client_order_id='o-3') differs", "row 4 (...) is not in
    the manifest", "rows 5 to 9 of the manifest are missing". Reads `rows` once, as they stream."""
    table = hashlib.sha256()
    index = 0
    found: str | None = None
    for key, canonical in rows:
        row = hashlib.sha256(canonical).digest()
        table.update(row)
        start = index * ROW_DIGEST_BYTES
        if found is None:
            if index >= expected.rows:
                found = f"row {index + 1} ({key}) is not in the manifest ({expected.rows} rows)"
            elif expected.row_digests[start:start + ROW_DIGEST_BYTES] != row[:ROW_DIGEST_BYTES]:
                found = f"row {index + 1} ({key}) differs"
        index += 1
    if found is None and index < expected.rows:
        found = f"rows {index + 1} to {expected.rows} of the manifest are missing"
    if found is None and table.hexdigest() != expected.digest:
        found = "the rows' digest differs"  # every 8-byte prefix equal: practically never
    return index, found


@attrs.frozen(kw_only=True)
class Manifest:
    engine: str  # "sqlite" | "postgres"
    store: str  # where it was taken from, for a person (never a password)
    schema_version: int
    taken_at: str  # ISO 8601, the clock's now
    backup_file: str  # the file's name (the manifest sits beside it)
    sha256: str
    size: int
    tables: tuple[TableDigest, ...]

    def table_rows(self) -> dict[str, int]:
        return {t.name: t.rows for t in self.tables}

    def to_json(self) -> dict[str, object]:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "engine": self.engine, "store": self.store,
            "schema_version": self.schema_version, "taken_at": self.taken_at, "backup_file": self.backup_file,
            "sha256": self.sha256, "size": self.size,
            "tables": {t.name: {"rows": t.rows, "digest": t.digest,
                                "row_digests": base64.b64encode(t.row_digests).decode("ascii")}
                       for t in self.tables},
        }

    @classmethod
    def from_json(cls, data: object, *, where: Path) -> Manifest:
        """Raises BackupError naming the manifest file when it is not one of ours."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise BackupError(f"{where} is not a QuantShift backup manifest (no \"format\": \"{FORMAT}\")")
        if data.get("format_version") != FORMAT_VERSION:
            raise BackupError(f"{where} has manifest format version {data.get('format_version')!r}; "
                              f"this QuantShift reads version {FORMAT_VERSION}")
        try:
            tables = tuple(
                TableDigest(name=str(name), rows=int(t["rows"]), digest=str(t["digest"]),
                            row_digests=base64.b64decode(str(t["row_digests"]), validate=True))
                for name, t in dict(data["tables"]).items()
            )
            manifest = cls(engine=str(data["engine"]), store=str(data["store"]),
                           schema_version=int(data["schema_version"]), taken_at=str(data["taken_at"]),
                           backup_file=str(data["backup_file"]), sha256=str(data["sha256"]),
                           size=int(data["size"]), tables=tables)
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupError(f"{where} is a damaged QuantShift backup manifest: {type(exc).__name__}: {exc}") from None
        for table in tables:
            if len(table.row_digests) != table.rows * ROW_DIGEST_BYTES:
                raise BackupError(f"{where} is a damaged QuantShift backup manifest: table {table.name} "
                                  f"lists {table.rows} rows but {len(table.row_digests) // ROW_DIGEST_BYTES} row digests")
        return manifest


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def write_manifest(backup: Path, manifest: Manifest) -> Path:
    path = manifest_path(backup)
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(json.dumps(manifest.to_json(), indent=1) + "\n", encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        raise BackupError(f"cannot write the manifest {path}: {exc.strerror or exc}") from None
    return path


def read_manifest(backup: Path) -> Manifest:
    path = manifest_path(backup)
    if not path.is_file():
        raise BackupError(f"{backup} has no manifest beside it ({path.name}): not a QuantShift backup, "
                          "or its manifest was moved away")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BackupError(f"{path} cannot be read as a manifest: {exc}") from None
    return Manifest.from_json(data, where=path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from None
    return digest.hexdigest()
