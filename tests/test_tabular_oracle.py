"""Oracle: medcode's ICD-10-CM tabular against simple-icd-10-cm, which reads the same CDC XML (April 1 2026,
the file its 1.5.0 wheel ships and medcode bundles), for every code, block and chapter.

Compared: billable flag, parent, children (by the tabular's nesting), 7th-character choices, and notes (each
code's own, and those it inherits from every level above it). Expected differences, and why:

1. Blocks are never billable in medcode. simple-icd-10-cm calls a block with no codes of its own a leaf (the 12
   grouping blocks such as M00-M25 and V00-X58, which only hold other blocks).
2. A block that holds a single category has the same name as that category in the XML (B10, T07, ...).
   simple-icd-10-cm keeps one entry for both (the category's); medcode stores the block as B10-B10. The block
   side is skipped, and the notes such a block passes down (T07's block excludes burns, T20-T32) are read from
   the block's <section> element of the XML itself.
3. simple-icd-10-cm has no 7th-character choice list for a code; its children of a code that needs a 7th
   character are exactly the valid choices, so the choices are compared with those children.
"""
from __future__ import annotations

import collections

import pytest

from codedata.codes import notes_for, seventh_character_choices
from codedata.db import current_release

simple = pytest.importorskip("simple_icd_10_cm")

NOTE_GETTERS = {
    "inclusion_term": "get_inclusion_term", "includes": "get_includes", "excludes1": "get_excludes1",
    "excludes2": "get_excludes2", "code_first": "get_code_first", "use_additional_code": "get_use_additional_code",
    "code_also": "get_code_also", "note": "get_notes", "seventh_character_note": "get_seven_chr_note",
}
INHERITED = ("excludes1", "excludes2", "code_first", "use_additional_code", "code_also", "note")


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def _theirs(name: str, kind: str) -> list[str]:
    value = getattr(simple, NOTE_GETTERS[kind])(name)
    if isinstance(value, str):  # get_notes and get_seven_chr_note join the <note> elements with newlines
        return [_clean(line) for line in value.splitlines() if line.strip()]
    return [_clean(v) for v in value]


@pytest.fixture(scope="module")
def tabular(icd_db):
    release = current_release(icd_db, "icd10cm")
    assert release["label"] == "2026-04"
    rows = {r["code"]: r for r in icd_db.query("SELECT * FROM codes WHERE release_id = ?", [release["id"]])}
    children = collections.defaultdict(list)
    for row in rows.values():
        if row["parent"]:
            children[row["parent"]].append(row["code"])
    names = collections.Counter(_name(r) for r in rows.values())
    return release, rows, children, {n for n, count in names.items() if count > 1}


def _name(row: dict) -> str:
    return row["display"].removeprefix("Chapter ") if row["kind"] == "chapter" else row["display"]


def _compared(rows: dict, shared: set[str]):
    for row in rows.values():
        if row["kind"] == "block" and _name(row) in shared:
            continue  # expected difference 2
        yield row, _name(row)


def test_every_code_exists_in_both(tabular):
    _, rows, _, _ = tabular
    ours = {_name(r) for r in rows.values()}
    assert ours == set(simple.get_all_codes(with_dots=True))
    assert len(ours) > 98_000


def test_billable_parent_and_children_match(tabular):
    _, rows, children, shared = tabular
    differences = collections.defaultdict(list)
    for row, name in _compared(rows, shared):
        if bool(row["billable"]) != simple.is_leaf(name) and row["kind"] != "block":
            differences["billable"].append(name)
        parent = _name(rows[row["parent"]]) if row["parent"] else ""
        if parent != simple.get_parent(name):
            differences["parent"].append(name)
        ours = sorted(_name(rows[c]) for c in children[row["code"]])
        if ours != sorted(simple.get_children(name)):
            differences["children"].append(name)
    assert dict(differences) == {}
    # Expected difference 1, counted: the grouping blocks simple-icd-10-cm calls leaves.
    leaf_blocks = [n for r, n in _compared(rows, shared) if r["kind"] == "block" and simple.is_leaf(n)]
    assert len(leaf_blocks) == 12 and not any(rows[c]["billable"] for c in rows if rows[c]["kind"] == "block")


def test_seventh_character_choices_match(icd_db, tabular):
    release, rows, _, shared = tabular
    differences, needing = [], 0
    for row, name in _compared(rows, shared):
        if row["billable"] or row["kind"] in ("chapter", "block") or len(row["code"]) >= 7:
            continue
        chain = _chain(rows, row)
        ours = [c.character for c in seventh_character_choices(icd_db, release["id"], row, chain)]
        kids = simple.get_children(name)
        theirs = [k[-1] for k in kids] if kids and all(len(k.replace(".", "")) == 7 and
                                                       k.replace(".", "").startswith(row["code"].ljust(6, "X"))
                                                       for k in kids) and _has_rule(chain, row) else []
        needing += bool(ours)
        if sorted(ours) != sorted(theirs):
            differences.append((name, ours, theirs))
    assert differences == []
    assert needing > 10_000  # chapter 19 and others: thousands of codes take a 7th character


def _has_rule(chain: list[dict], row: dict) -> bool:
    return any(simple.get_seven_chr_def(_name(r)) for r in [row] + chain if r["kind"] not in ("chapter", "block"))


def _chain(rows: dict, row: dict) -> list[dict]:
    chain, parent = [], row["parent"]
    while parent:
        chain.append(rows[parent])
        parent = rows[parent]["parent"]
    return list(reversed(chain))


def _single_category_block_notes() -> dict[str, list[tuple[str, str]]]:
    """Notes of the XML <section> elements whose id is one category (expected difference 2)."""
    import xml.etree.ElementTree as ET

    from codedata.defaults import default_icd10cm_path
    from codedata.importers.icd10cm import NOTE_KINDS

    found = {}
    for section in ET.parse(default_icd10cm_path()).getroot().iter("section"):
        if "-" not in (section.get("id") or "-"):
            found[section.get("id")] = [(NOTE_KINDS[child.tag], _clean(note.text or "")) for child in section
                                        if child.tag in NOTE_KINDS for note in child.iter("note")]
    return found


def test_own_and_inherited_notes_match(icd_db, tabular):
    release, rows, _, shared = tabular
    single_blocks = _single_category_block_notes()
    differences = []
    own_cache: dict[str, dict[str, list[str]]] = {}

    def theirs_own(name: str) -> dict[str, list[str]]:
        if name not in own_cache:
            own_cache[name] = {kind: _theirs(name, kind) for kind in NOTE_GETTERS}
        return own_cache[name]

    for row, name in _compared(rows, shared):
        chain = _chain(rows, row)
        expected = [(kind, text) for kind, texts in theirs_own(name).items() for text in texts]
        for ancestor in reversed(chain):
            a_name = _name(ancestor)
            if a_name in shared and ancestor["kind"] == "block":
                expected += [(kind, text) for kind, text in single_blocks.get(a_name, []) if kind in INHERITED]
                continue
            expected += [(kind, text) for kind in INHERITED for text in theirs_own(a_name)[kind]]
        ours = [(n.kind, _clean(n.text)) for n in notes_for(icd_db, release["id"], row, chain)]
        if sorted(ours) != sorted(expected):
            differences.append(name)
    assert differences == []


def test_billable_codes_under_every_header_follow_the_nesting(icd_db, tabular):
    # Parents match simple-icd-10-cm (test above); the billable codes under each header counted through those
    # parent links must equal what a lookup lists (it reads them as a run of rows in tabular order).
    from codedata.codes import billable_descendants

    release, rows, children, shared = tabular
    below: dict[str, int] = {}

    def count(code: str) -> int:
        if code not in below:
            below[code] = sum(count(c) + rows[c]["billable"] for c in children[code])
        return below[code]

    differences = []
    for row in rows.values():
        if row["billable"] or row["kind"] in ("chapter", "block"):
            continue
        listed, total = billable_descendants(icd_db, release["id"], row, limit=1)
        if total != count(row["code"]):
            differences.append((row["display"], total, count(row["code"])))
    assert differences == []
