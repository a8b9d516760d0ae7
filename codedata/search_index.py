"""The search index (SQLite FTS5) over each system's current release: one document per code, holding the
description and the inclusion terms that describe it (aliases), used by codedata.search."""
from __future__ import annotations

import csv
import hashlib
import json
import re
from functools import lru_cache
from importlib.resources import files

import sqlite_utils

from .importers import icd10cm_index
from .text import analyse

WORD = re.compile(r"[a-z0-9]+")
# sqlite-utils' FTS helpers index a table's own columns; ours holds derived aliases, so it is declared here.
FTS_TABLE = "search_fts"
SYSTEMS = ("icd10cm", "hcpcs", "cpt")  # code systems with text to search
# Bumped whenever what the index stores for a code changes: an index built by older code is rebuilt.
INDEX_FORMAT = 17  # 3: 'except'; 4: brackets; 5: accents dropped (codedata.text); 6: a child's added words;
# 7: a short description's closing ", includes ..."; 8: Roman numerals read as numbers (codedata.text);
# 9, 10: a lone "w" is "with", a lone "d/o" is "disorder"; 11: "type 2" and "mellitus" of diabetes are optional;
# 12: procedure_terms.tsv names; 13: "stage iv", "factor v", "type i" are numbers; 14: "2.5 cm or less" (codedata.text)
# 15, 16: a default's right/left/bilateral siblings carry its name with the side and encounter (_sided_siblings)
# 17: "level IV" is a number (codedata.text RANKS)


def create_schema(db: sqlite_utils.Database) -> None:
    """Create the FTS5 table, its vocabulary view and the build record (migration 002)."""
    create_fts(db)
    db["search_state"].create({"system": str, "release_key": str}, pk="system")


def create_fts(db: sqlite_utils.Database) -> None:
    """(Re)create the FTS5 table and its vocabulary view, empty (migration 015 adds the `names` column: index
    entries and default names of a code, which rank above words met in inclusion terms)."""
    db.execute("DROP TABLE IF EXISTS search_vocab")
    db.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    db.execute(
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(sys, description, body, names, code UNINDEXED,"
        " display UNINDEXED, billable UNINDEXED, kind UNINDEXED, aliases UNINDEXED, section UNINDEXED,"
        " prefix = '3 4 5 6', tokenize = 'unicode61 remove_diacritics 2')"
    )
    db.execute(f"CREATE VIRTUAL TABLE search_vocab USING fts5vocab({FTS_TABLE}, 'row')")
    if "search_state" in db.table_names():
        db.execute("DELETE FROM search_state")  # every system is rebuilt on its next search


def create_word_table(db: sqlite_utils.Database) -> None:
    """Create the index's word list as a plain table (migration 005): fts5vocab walks the whole index on every
    read (≈35 ms), and a bot rereads the words after each release switch, so rebuild() keeps a copy here."""
    db.execute("CREATE TABLE search_words (term TEXT PRIMARY KEY, doc INTEGER NOT NULL) WITHOUT ROWID")
    copy_words(db.conn)


def copy_words(conn) -> None:
    conn.execute("DELETE FROM search_words")
    conn.execute("INSERT INTO search_words (term, doc) SELECT term, doc FROM search_vocab")


def release_key(db: sqlite_utils.Database, system: str) -> str:
    """Return the id(s) of the release(s) the index of `system` must reflect."""
    if system == "cpt":  # every CPT source counts: imported descriptors take precedence over the starter set
        rows = db.execute("SELECT id FROM releases WHERE system = 'cpt' ORDER BY id").fetchall()
    else:
        rows = db.execute("SELECT id FROM releases WHERE system = ? AND current = 1", [system]).fetchall()
    return f"{index_version()}:" + ",".join(str(r[0]) for r in rows)


@lru_cache(maxsize=1)
def index_version() -> str:
    """INDEX_FORMAT and a short digest of the bundled name lists the index stores (default_terms.tsv,
    procedure_terms.tsv): an index built by other code or from other lists is rebuilt."""
    digest = hashlib.sha256()
    for name in ("default_terms.tsv", "procedure_terms.tsv"):
        digest.update((files("codedata") / "data" / name).read_bytes())
    return f"v{INDEX_FORMAT}.{digest.hexdigest()[:12]}"


def is_current(db: sqlite_utils.Database, system: str) -> bool:
    """True when the index of `system` reflects its current release(s)."""
    row = db.execute("SELECT release_key FROM search_state WHERE system = ?", [system]).fetchone()
    return row is not None and row[0] == release_key(db, system)


def rebuild(db: sqlite_utils.Database, system: str) -> int:
    """Replace the index rows of `system` (call inside the import transaction); return documents written."""
    conn = db.conn
    conn.execute(f"DELETE FROM {FTS_TABLE} WHERE sys = ?", [system])
    documents = list(_documents(db, system))
    conn.executemany(
        f"INSERT INTO {FTS_TABLE} (sys, body, names, code, display, description, billable, kind, aliases, section)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        ((system, d["body"], " | ".join(d["names"]), d["code"], d["display"], d["description"], d["billable"],
          d["kind"], json.dumps([analyse(a) for a in d["aliases"] + d["names"]]), d["section"]) for d in documents),
    )
    conn.execute("INSERT OR REPLACE INTO search_state (system, release_key) VALUES (?, ?)",
                 [system, release_key(db, system)])
    # Merge FTS segments: the delete above leaves tombstones that slow every later query.
    conn.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
    copy_words(conn)
    return len(documents)


def _documents(db: sqlite_utils.Database, system: str):
    if system == "icd10cm":
        yield from _icd_documents(db)
    elif system == "cpt":
        yield from _cpt_documents(db)
    else:
        yield from _plain_documents(db, system)


def _doc(row: dict, aliases: list[str], section: str | None = None, names: list[str] | None = None) -> dict:
    return {"code": row["code"], "display": row["display"], "description": row["description"],
            "billable": row["billable"], "kind": row["kind"], "aliases": aliases, "section": section,
            "names": list(dict.fromkeys(names or [])),
            "body": " | ".join(aliases[1:] + ([section] if section else []))}


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def _icd_documents(db: sqlite_utils.Database):
    release = db.execute("SELECT * FROM releases WHERE system = 'icd10cm' AND current = 1").fetchone()
    if release is None:
        return
    release = db["releases"].get(release[0])
    icd10cm_index.attach_bundled(db, release)
    rows = {r["code"]: r for r in db.query(
        "SELECT code, display, description, parent, billable, kind FROM codes WHERE release_id = ?"
        " AND kind NOT IN ('chapter', 'block') ORDER BY seq", [release["id"]])}
    children: dict[str, list[str]] = {}
    for code, row in rows.items():
        children.setdefault(row["parent"], []).append(code)
    terms: dict[str, list[str]] = {}
    extra_terms: dict[str, list[str]] = {}  # names from outside the code's own entry, on billable codes
    for note in db.query("SELECT code, text FROM notes WHERE release_id = ? AND kind IN ('inclusion_term', 'includes')",
                         [release["id"]]):
        terms.setdefault(note["code"], []).append(note["text"])
        # An "X NOS" inclusion term of a header names the header's default (unspecified) code: "diabetes NOS"
        # under E11 is E11.9 (convention I.A.9.a: NOS is the equivalent of unspecified).
        if "nos" in _words(note["text"]) and note["code"] in rows and not rows[note["code"]]["billable"]:
            _add_named(extra_terms, note["text"], note["code"], rows, children)
    for code, entries in icd10cm_index.terms_by_code(db, release["id"]).items():
        if code not in rows:
            continue
        substances: dict[str, list[str]] = {}
        for part, path, heading in entries:
            if part == "drug":
                substances.setdefault(heading, []).append(path)
            else:
                _add_named(extra_terms, _index_alias(part, path, heading), code, rows, children)
        for heading, paths in substances.items():
            # One name per drug-table column: every substance is a nonessential word of it (in parentheses), so
            # the one asked for matches and the others are not detail the query failed to ask for.
            _add_named(extra_terms, _drug_alias(paths, heading), code, rows, children)
    by_title = {row["description"]: code for code, row in rows.items()}
    for term, code in default_terms():
        if code in rows:
            _add_named(extra_terms, term, code, rows, children)
            for sided, side in _sided_siblings(rows[code]["description"], by_title):
                _add_named(extra_terms, f"{term} {side}", sided, rows, children)
    for row in rows.values():
        yield _doc(row, [row["description"]] + _inherited_terms(row, rows, terms), names=extra_terms.get(row["code"]))


def _inherited_terms(row: dict, rows: dict, terms: dict[str, list[str]]) -> list[str]:
    """Inclusion terms of the code and its ancestors below the category, each with the words that set
    this code apart from the ancestor (laterality, 7th character), so "whiplash" finds S13.4XXA."""
    aliases = list(terms.get(row["code"], []))
    node = rows.get(row["parent"])
    while node is not None and node["kind"] != "category":
        extra = _added_words(node["description"], row["description"])
        for term in terms.get(node["code"], []):
            aliases.append(f"{term} {extra}".strip())
        node = rows.get(node["parent"])
    return aliases


def _index_alias(part: str, path: str, heading: str) -> str:
    """The words an index entry gives its code, in the tabular's own order ("poisoning by X, accidental")."""
    if part == "neoplasm":
        site = path.split(", ", 2)[2] if path.count(", ") >= 2 else ""
        kind = {"malignant primary": "malignant (primary) neoplasm", "malignant secondary": "secondary malignant neoplasm",
                "carcinoma in situ": "carcinoma in situ", "benign": "benign neoplasm",
                "uncertain behavior": "neoplasm of uncertain behavior",
                "unspecified behavior": "neoplasm of unspecified behavior"}.get(heading, "neoplasm")
        return f"{kind} of {site}" if site else kind
    if part == "drug":
        if heading.startswith("poisoning"):
            return f"poisoning by {path}, {heading[len('poisoning '):]}"
        return f"{heading} of {path}"
    return path


def _drug_alias(paths: list[str], heading: str) -> str:
    names = " ".join(f"({re.sub(r'[()]', ' ', p)})" for p in dict.fromkeys(paths))
    if heading.startswith("poisoning"):
        return f"poisoning by {names}, {heading[len('poisoning '):]}"
    return f"{heading} of {names}"


UNSPECIFIED_SIDE = re.compile(r"\bunspecified (\w+)")
ENCOUNTER = re.compile(r"(initial|subsequent) encounter|sequela")


def _sided_siblings(title: str, by_title: dict[str, str]) -> list[tuple[str, str]]:
    """The right, left and bilateral codes of a default that leaves the side open ("hamstring strain" is S76.319A
    '..., unspecified thigh, initial encounter'; "lt hamstring strain" is S76.312A '..., left thigh, ...'), found
    by their titles, with the words that say the side."""
    found = []
    encounter = ENCOUNTER.search(title)  # a later visit's code must not take an initial one's name
    for match in UNSPECIFIED_SIDE.finditer(title):
        for side in (f"right {match[1]}", f"left {match[1]}", "bilateral"):
            code = by_title.get(title[:match.start()] + side + title[match.end():])
            if code:
                found.append((code, f"{side} {encounter[0]}" if encounter else side))
    return found


def _add_named(found: dict[str, list[str]], term: str, code: str, rows: dict, children: dict) -> None:
    if not rows[code]["billable"]:
        found.setdefault(code, []).append(term)  # the header too: search shows it as a hint with its choices
    for target, extra in _billable_targets(code, rows, children):
        found.setdefault(target, []).append(f"{term} {extra}".strip())


def _billable_targets(code: str, rows: dict, children: dict) -> list[tuple[str, str]]:
    """The billable code(s) a name given to `code` belongs to: the code itself; each 7th-character code of a
    header that needs one (with the words that set it apart, "initial encounter"); else the header's default."""
    row = rows[code]
    if row["billable"]:
        return [(code, "")]
    kids = children.get(code, [])
    if not kids:
        return []
    if all(len(k) == 7 and set(k[len(code):-1]) <= {"X"} for k in kids):
        return [(k, _added_words(row["description"], rows[k]["description"]))
                for k in kids if rows[k]["billable"]]
    return _billable_targets(_default_child(code, kids, rows), rows, children)


def _added_words(parent: str, child: str) -> str:
    """The words that set a child code apart from its parent: the tail when the child's description extends the
    parent's (W01.0XXD '..., without subsequent striking against object, subsequent encounter' adds "subsequent
    encounter", although the parent says "subsequent" too), else the words the parent does not have."""
    if child.lower().startswith(parent.lower()):
        return " ".join(_words(child[len(parent):]))
    parent_words = set(_words(parent))
    return " ".join(dict.fromkeys(w for w in _words(child) if w not in parent_words))


def _default_child(code: str, kids: list[str], rows: dict) -> str:
    """The child a bare mention of a header means: the unspecified one (ICD-10-CM puts it at .9 or .0, and
    "other specified" at .8)."""
    parent_words = set(_words(rows[code]["description"]))

    def key(kid: str):
        added = [w for w in _words(rows[kid]["description"]) if w not in parent_words]
        plain = sum(w in ("unspecified", "nos", "without", "not") for w in added)
        return -plain, 0 if kid.endswith("9") else 1 if kid.endswith("0") else 2, len(added)

    return min(kids, key=key)


@lru_cache(maxsize=1)
def default_terms() -> list[tuple[str, str]]:
    """(term, undotted code) pairs of codedata/data/default_terms.tsv: curated bare terms and their default
    codes, each with its source (the ICD-10-CM Alphabetic Index entry or guideline) in the file."""
    return [(term, code.replace(".", "").upper()) for term, code in _term_rows("default_terms.tsv")]


def _term_rows(name: str) -> list[tuple[str, str]]:
    """(term, code) rows of a bundled term list (codedata/data/NAME: term <TAB> code <TAB> source, # comments,
    a header row)."""
    text = (files("codedata") / "data" / name).read_text(encoding="utf-8")
    rows = csv.reader((ln for ln in text.splitlines() if ln and not ln.startswith("#")), delimiter="\t")
    return [(r[0], r[1].strip()) for r in rows if len(r) >= 3 and r[0] != "term"]


@lru_cache(maxsize=1)
def procedure_terms() -> dict[str, list[str]]:
    """Code -> the names billers type for it (codedata/data/procedure_terms.tsv: lay names, shorthand, brands;
    each line with its source), searched as other names of the CPT or HCPCS code."""
    found: dict[str, list[str]] = {}
    for term, code in _term_rows("procedure_terms.tsv"):
        found.setdefault(code.upper(), []).append(term)
    return found


def _cpt_documents(db: sqlite_utils.Database):
    # Highest-precedence text per code: newest dated import first, the undated starter set last.
    seen: dict[str, dict] = {}
    sections: dict[str, str] = {}
    for row in db.query(
        "SELECT c.code, c.display, c.description, c.billable, c.kind, c.block, c.extra FROM codes c"
        " JOIN releases r ON r.id = c.release_id WHERE r.system = 'cpt'"
        " ORDER BY r.effective_date DESC, r.id DESC"
    ):
        if json.loads(row["extra"] or "{}").get("add_on"):
            row["kind"] = "add-on"
        seen.setdefault(row["code"], row)
        if row["block"]:
            sections.setdefault(row["code"], row["block"])
    terms = procedure_terms()
    for code, row in seen.items():
        yield _doc(row, [row["description"]], sections.get(code), names=terms.get(code))


def _plain_documents(db: sqlite_utils.Database, system: str):
    release = db.execute("SELECT id FROM releases WHERE system = ? AND current = 1", [system]).fetchone()
    if release is None:
        return
    terms = procedure_terms()
    for row in db.query(
        "SELECT code, display, description, short_description, billable, kind FROM codes"
        " WHERE release_id = ? AND kind = 'code'", [release[0]]
    ):
        aliases = [row["description"]] + ([row["short_description"]] if row["short_description"] else [])
        yield _doc(row, aliases, names=terms.get(row["code"]))
