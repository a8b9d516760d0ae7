"""Release diffs and change alerts on the real files: ICD-10-CM, HCPCS (against CMS's own transaction reports)
and NCCI PTP; watches route changes to the channels that track them."""
from __future__ import annotations

import collections
import csv
import io
import lzma
import warnings

import openpyxl
import pytest

from codedata.db import open_db, releases
from codedata.defaults import default_icd10cm_path
from codedata.importers import import_release
from codedata.importers.hcpcs import write_compact
from codedata.releases import changes_between, diff_pair, stored_changes
from codedata.errors import BadInput
from codedata.watches import add_watch, list_watches, parse_pattern, remove_watch, watch_matches

from .conftest import shared_file


def test_fy2026_diff_matches_the_official_addenda(icd_db):
    old, new = diff_pair(icd_db, "icd10cm")
    assert (old["label"], new["label"]) == ("2025-04", "2026-04")
    counts = collections.Counter(c["change"] for c in changes_between(icd_db, old, new))
    assert (counts["added"], counts["deleted"]) == (487, 28)


def test_g35_is_deleted_with_successors_under_it(icd_db):
    old, new = diff_pair(icd_db, "icd10cm")
    g35 = changes_between(icd_db, old, new, "G35")
    deleted = [c for c in g35 if c["code"] == "G35"][0]
    assert deleted["change"] == "deleted" and deleted["detail"] == "now a header: use a code under it"
    assert [s["code"] for s in deleted["successors"]][:3] == ["G35.A", "G35.B0", "G35.B1"]


def test_s62_90_family_revised_and_e11a_added(icd_db):
    old, new = diff_pair(icd_db, "icd10cm")
    revised = [c for c in changes_between(icd_db, old, new, "S6290") if c["change"] == "revised"]
    assert revised and all("wrist and hand" in c["old_description"] and "wrist and hand" not in c["new_description"]
                           and " hand" in c["new_description"] for c in revised)
    assert [c["change"] for c in changes_between(icd_db, old, new, "E11A")] == ["added"]


def test_alerts_go_only_to_channels_watching_changed_codes(watched_db):
    rows = {r["channel"]: r for r in watched_db.query("SELECT * FROM outbox")}
    assert set(rows) == {"C_E11", "C_G35", "C_S62", "C_ANNOUNCE"}  # I10 did not change: no alert
    e11 = [c for c in stored_changes(watched_db, *_pair_ids(watched_db)) if c["id"] in _ids(rows["C_E11"])]
    assert "E11.A" in [c["display"] for c in e11]
    g35 = [c for c in stored_changes(watched_db, *_pair_ids(watched_db)) if c["id"] in _ids(rows["C_G35"])]
    assert any(c["code"] == "G35" and c["successors"] for c in g35)
    assert _ids(rows["C_ANNOUNCE"]) == []  # the announce channel gets the release summary only


def _ids(row) -> list[int]:
    import json
    return json.loads(row["change_ids"])


def _pair_ids(db) -> tuple[int, int]:
    rows = releases(db, "icd10cm")
    return rows[0]["id"], rows[1]["id"]


def test_reimporting_the_same_file_queues_nothing(watched_db):
    before = watched_db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    assert import_release(watched_db, "icd10cm", default_icd10cm_path()).status == "already_imported"
    assert watched_db.execute("SELECT count(*) FROM outbox").fetchone()[0] == before


@pytest.mark.parametrize("text, expected", [
    ("E11", ("icd10cm", "subtree", "E11")), ("E11*", ("icd10cm", "prefix", "E11")),
    ("e11.9", ("icd10cm", "subtree", "E119")), ("S72.001A", ("icd10cm", "exact", "S72001A")),
    ("icd10cm", ("icd10cm", "system", "icd10cm")),
])
def test_watch_patterns(text, expected):
    assert parse_pattern(text, "icd10cm") == expected


def test_watch_matching_and_removal(watched_db):
    change = {"system": "icd10cm", "display": "E11.A"}
    assert watch_matches({"system": "icd10cm", "kind": "subtree", "pattern": "E11"}, change)
    assert not watch_matches({"system": "icd10cm", "kind": "exact", "pattern": "E11"}, change)
    assert watch_matches({"system": "icd10cm", "kind": "system", "pattern": "icd10cm"}, change)
    add_watch(watched_db, "C_TMP", "J45*", "icd10cm", "U1")
    assert [w["pattern"] for w in list_watches(watched_db, "C_TMP")] == ["J45"]
    assert remove_watch(watched_db, "C_TMP", "J45*", "icd10cm") == 1 and list_watches(watched_db, "C_TMP") == []


def compact_2024_04(path):
    """The April 2024 HCPCS release table written in medcode's compact form (descriptions only)."""
    text = lzma.decompress(shared_file("hcpcs", "2024", "hcpcs_2024_04_descriptions.csv.xz").read_bytes()).decode()
    codes = [{"code": r["hcpcs"], "long_description": r["two_desc_long"], "short_description": r["two_desc_short"]}
             for r in csv.DictReader(io.StringIO(text))]
    path.write_text(write_compact(codes, "2024-04", "2024-04-01", "CMS HCPCS April 2024 (test conversion)"))
    return path


def test_hcpcs_april_to_july_2024(tmp_path):
    db = open_db(tmp_path / "h.db")
    import_release(db, "hcpcs", compact_2024_04(tmp_path / "hcpcs_2024_04.tsv"))
    import_release(db, "hcpcs", default_hcpcs())
    old, new = diff_pair(db, "hcpcs")
    changes = changes_between(db, old, new)
    counts = collections.Counter(c["change"] for c in changes)
    # 67 codes added and no code removed from the file (CMS keeps discontinued codes, with a termination
    # date). The July file also discontinues 11 codes effective 2024-06-30 (action code D): they stay in the
    # file but are no longer billable, and a biller must hear about them, so they are reported as deleted
    # ("discontinued"), as CMS's own 2020 transaction reports list discontinued codes (test below).
    assert counts["added"] == 67
    assert db.execute("SELECT count(*) FROM codes WHERE release_id = ? AND code NOT IN"
                      " (SELECT code FROM codes WHERE release_id = ?)", [old["id"], new["id"]]).fetchone()[0] == 0
    discontinued = [c for c in changes if c["change"] == "deleted"]
    assert len(discontinued) == 11 and {c["detail"] for c in discontinued} == {"discontinued"}
    assert "J2780" in {c["code"] for c in discontinued}


def default_hcpcs():
    from codedata.defaults import BUNDLED
    return next(b for b in BUNDLED if b.system == "hcpcs").locate()


def transaction_report(quarter: str) -> dict[str, set[str]]:
    """Codes by action in CMS's own transaction report for a 2020 quarter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(shared_file("hcpcs", "2020", f"HCPC2020_{quarter}_trans_alpha.xlsx"), read_only=True)
        best: dict[str, set[str]] = {}
        for sheet in book.worksheets:
            actions, started = collections.defaultdict(set), False
            for row in sheet.iter_rows(values_only=True):
                if row and row[0] in ("HCPC", "HCPC/MOD") and row[1] == "ACTION CD":
                    started = True
                elif started and row and isinstance(row[0], str) and len(row[0].strip()) == 5 and row[1]:
                    actions[str(row[1]).strip().upper()].add(row[0].strip())
            if sum(map(len, actions.values())) > sum(map(len, best.values())):
                best = actions
    return best


def test_hcpcs_2020_quarters_agree_with_cms_transaction_reports(tmp_path):
    db = open_db(tmp_path / "h2020.db")
    for name in ("HCPC2020_ANWEB_w_disclaimer.txt.xz", "HCPC2020_04_anweb.xlsx", "HCPC2020_07_anweb.xlsx",
                 "HCPC2020_10_anweb.xlsx"):
        import_release(db, "hcpcs", shared_file("hcpcs", "2020", name))
    rows = releases(db, "hcpcs")
    for old, new, quarter in zip(rows, rows[1:], ("04", "07", "10")):
        changes = changes_between(db, old, new)
        added = {c["code"] for c in changes if c["change"] == "added"}
        deleted = {c["code"] for c in changes if c["change"] == "deleted"}
        report = transaction_report(quarter)
        assert added == report.get("ADD", set()) | report.get("RE-ACTIVATED", set()), quarter
        assert deleted == report.get("DISCONTINUED", set()), quarter


def test_ncci_ptp_april_to_july_2024_adds_925_pairs(tmp_path):
    db = open_db(tmp_path / "ncci.db")
    for name in ("ptp_practitioner_2024-04.csv.gz", "ptp_practitioner_2024-07.csv.gz"):
        import_release(db, "ncci", shared_file("ncci", "2024", name))
    old, new = diff_pair(db, "ncci_ptp_practitioner")
    counts = collections.Counter(c["change"] for c in changes_between(db, old, new))
    assert counts["pair_added"] == 925


# A black-box pass (2026-11-24) stored watches for an empty channel, for "XYZ" and for ZZZ99; each is refused now.
@pytest.mark.parametrize("channel, pattern", [("", "E11"), ("C123; rm -rf /", "E11"), ("C77", "xyz"),
                                              ("C77", "ZZZ99"), ("C77", "Q99.99")])
def test_a_watch_on_nothing_real_is_refused_and_not_stored(watched_db, channel, pattern):
    before = list_watches(watched_db)
    with pytest.raises(BadInput):
        add_watch(watched_db, channel, pattern, "icd10cm", "U1")
    assert list_watches(watched_db) == before


def test_a_watched_code_is_shown_as_people_write_it(watched_db):
    # E11.9 'Type 2 diabetes mellitus without complications' (tabular 2026-04)
    assert add_watch(watched_db, "C78", "E11.9", "icd10cm", "U1")["display"] == "E11.9"
