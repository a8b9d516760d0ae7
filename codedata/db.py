"""Open and migrate the medcode database: the one place that knows the schema."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import sqlite_utils

from .errors import MedcodeError


def _m001_releases_codes_notes(db: sqlite_utils.Database) -> None:
    db["releases"].create(
        {
            "id": int,
            "system": str,
            "label": str,
            "title": str,
            "effective_date": str,
            "source_name": str,
            "sha256": str,
            "imported_at": str,
            "code_count": int,
            "billable_count": int,
            "current": int,
        },
        pk="id",
        not_null={"system", "label", "sha256", "current"},
    )
    db["releases"].create_index(["system", "sha256"], unique=True)
    db["releases"].create_index(["system", "current"])
    # Codes are stored undotted (E119); `display` is the dotted form people read.
    db["codes"].create(
        {
            "release_id": int,
            "code": str,
            "display": str,
            "description": str,
            "short_description": str,
            "parent": str,
            "billable": int,
            "kind": str,
            "chapter": str,
            "block": str,
            "seq": int,
            "extra": str,
        },
        pk=("release_id", "code"),
        foreign_keys=[("release_id", "releases", "id")],
    )
    db["codes"].create_index(["release_id", "parent"])
    db["notes"].create(
        {"release_id": int, "code": str, "kind": str, "seq": int, "text": str},
        foreign_keys=[("release_id", "releases", "id")],
    )
    db["notes"].create_index(["release_id", "code"])
    # sevenChrDef rules, kept per defining code so lookups can list the choices.
    db["seventh_characters"].create(
        {"release_id": int, "code": str, "character": str, "meaning": str},
        pk=("release_id", "code", "character"),
    )


def _m002_search_index(db: sqlite_utils.Database) -> None:
    from .search_index import create_schema

    create_schema(db)


def _m003_edits_and_policies(db: sqlite_utils.Database) -> None:
    # NCCI procedure-to-procedure, medically unlikely and add-on edits (CMS), per release.
    db["ncci_ptp"].create({"release_id": int, "column1": str, "column2": str, "effective": str,
                           "deletion": str, "modifier_indicator": str, "rationale": str})
    db["ncci_ptp"].create_index(["release_id", "column1", "column2"])
    db["ncci_mue"].create({"release_id": int, "code": str, "units": int, "mai": str, "rationale": str,
                           "service": str}, pk=("release_id", "code"))
    db["ncci_aoc"].create({"release_id": int, "primary_code": str, "add_on_code": str, "edit_type": str})
    db["ncci_aoc"].create_index(["release_id", "add_on_code"])
    # Coverage articles (Medicare Coverage Database export): which procedures they govern and which
    # diagnoses they list as covered (covered = 1) or not covered (covered = 0).
    db["policy_articles"].create({"release_id": int, "article_id": str, "version": str, "title": str},
                                 pk=("release_id", "article_id"))
    db["policy_procedures"].create({"release_id": int, "article_id": str, "code": str, "grp": str})
    db["policy_procedures"].create_index(["release_id", "code"])
    db["policy_diagnoses"].create({"release_id": int, "article_id": str, "code": str, "grp": str,
                                   "covered": int})
    db["policy_diagnoses"].create_index(["release_id", "article_id", "code"])


def _m004_changes_watches_outbox(db: sqlite_utils.Database) -> None:
    db["release_changes"].create({"id": int, "system": str, "from_release": int, "to_release": int, "change": str,
                                  "code": str, "display": str, "old_description": str, "new_description": str,
                                  "detail": str, "successors": str}, pk="id")
    db["release_changes"].create_index(["from_release", "to_release", "code"])
    db["watches"].create({"id": int, "channel": str, "system": str, "kind": str, "pattern": str,
                          "created_by": str, "created_at": str}, pk="id")
    db["watches"].create_index(["channel", "system", "pattern"], unique=True)
    # One row per (channel, release): delivery state moves pending -> summary_posted -> delivered.
    db["outbox"].create({"id": int, "channel": str, "release_id": int, "system": str, "change_ids": str,
                         "status": str, "attempts": int, "summary_ts": str, "last_error": str,
                         "created_at": str, "delivered_at": str}, pk="id")
    db["outbox"].create_index(["channel", "release_id"], unique=True)


def _m005_search_words(db: sqlite_utils.Database) -> None:
    from .search_index import create_word_table

    create_word_table(db)


def _m012_codes_in_tabular_order(db: sqlite_utils.Database) -> None:
    # A code's subtree is a run of rows in tabular order (codedata.codes.billable_descendants).
    db["codes"].create_index(["release_id", "seq"])


def _m013_compact_ptp(db: sqlite_utils.Database) -> None:
    from .ptp_store import create_schema

    create_schema(db.conn)


def _m015_icd10cm_index(db: sqlite_utils.Database) -> None:
    from .importers.icd10cm_index import create_schema
    from .search_index import create_fts

    create_schema(db)
    create_fts(db)  # with a column for index names; every system's index is rebuilt on its next search


MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("001_releases_codes_notes", _m001_releases_codes_notes),
    ("002_search_index", _m002_search_index),
    ("003_edits_and_policies", _m003_edits_and_policies),
    ("004_changes_watches_outbox", _m004_changes_watches_outbox),
    ("005_search_words", _m005_search_words),
    ("012_codes_in_tabular_order", _m012_codes_in_tabular_order),
    ("013_compact_ptp", _m013_compact_ptp),
    ("015_icd10cm_index", _m015_icd10cm_index),
]


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Return a migrated database at `path` (created if missing), in WAL mode."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise MedcodeError(f"cannot open database {path}: {exc}") from exc
    db = sqlite_utils.Database(conn)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(db)
    return db


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations in order; return the names applied."""
    if "migrations" not in db.table_names():
        db["migrations"].create({"name": str, "applied_at": str}, pk="name")
    done = {row["name"] for row in db["migrations"].rows}
    applied = []
    for name, step in MIGRATIONS:
        if name in done:
            continue
        with transaction(db):
            step(db)
            db.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (?, datetime('now'))",
                [name],
            )
        applied.append(name)
    return applied


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """One write transaction: everything inside commits together or not at all."""
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    else:
        conn.commit()


def current_release(db: sqlite_utils.Database, system: str) -> dict | None:
    """Return the current release row of `system`, or None when nothing is imported."""
    rows = list(
        db.query(
            "SELECT * FROM releases WHERE system = ? AND current = 1", [system]
        )
    )
    return rows[0] if rows else None


def releases(db: sqlite_utils.Database, system: str | None = None) -> list[dict]:
    """Return imported releases, oldest effective date first."""
    sql = "SELECT * FROM releases"
    params: list = []
    if system:
        sql += " WHERE system = ?"
        params.append(system)
    sql += " ORDER BY system, effective_date, id"
    return list(db.query(sql, params))
