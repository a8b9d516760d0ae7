"""Pairing checks on real data: the issue's acceptance cases, NCCI edits, coverage articles, policy packs."""
from __future__ import annotations

from pathlib import Path

import pytest

from codedata.checks import check_claim
from codedata.db import open_db, releases
from codedata.errors import BadInput, BadReleaseFile
from codedata.importers import import_release
from codedata.models import ClaimRequest, ProcedureLine

FIXTURES = Path(__file__).parent / "fixtures"


def check(db, dx=(), px=(), **kw):
    lines = [ProcedureLine(code=p.split("-")[0], modifiers=p.split("-")[1:], units=kw.pop(f"units_{p}", 1))
             for p in px]
    return check_claim(db, ClaimRequest(diagnoses=list(dx), procedures=lines, **kw))


def rules(report):
    return {f.rule: f for f in report.findings}


def test_header_diagnosis_is_an_error_with_its_billable_codes(icd_db):
    report = check(icd_db, ["M54.5"], ["97140"])
    finding = rules(report)["dx_header"]
    assert (report.verdict, finding.severity) == ("likely_denial", "error")
    assert [s.code for s in finding.suggestions] == ["M54.50", "M54.51", "M54.59"]
    assert "ICD-10-CM 2026 tabular (release 2026-04)" in finding.basis


def test_subcategory_header_lists_its_children(icd_db):
    finding = rules(check(icd_db, ["I63.31"]))["dx_header"]
    assert [s.code for s in finding.suggestions] == ["I63.311", "I63.312", "I63.313", "I63.319"]


def test_missing_seventh_character_lists_the_choices(icd_db):
    finding = rules(check(icd_db, ["S72.001"]))["dx_missing_7th_character"]
    assert finding.severity == "error"
    assert "A (initial encounter for closed fracture)" in finding.message
    assert finding.suggestions[0].code == "S72.001A"


def test_missing_placeholder_and_invalid_seventh(icd_db):
    assert rules(check(icd_db, ["S134A"]))["dx_missing_placeholder"].suggestions[0].code == "S13.4XXA"
    assert "dx_invalid_7th_character" in rules(check(icd_db, ["S72.001Z"]))


def test_excludes1_pair_warns_and_cites_the_note(icd_db):
    finding = rules(check(icd_db, ["E11.9", "E10.9"]))["excludes1"]
    assert finding.severity == "warning"
    assert finding.basis == "ICD-10-CM 2026 tabular (release 2026-04), Excludes1 note at E11"
    assert "type 1 diabetes mellitus (E10.-)" in finding.message and "unrelated" in finding.message


def test_unspecified_laterality_suggests_the_sides(icd_db):
    finding = rules(check(icd_db, ["M25.569"], ["97110"]))["dx_unspecified"]
    assert finding.severity == "warning"
    assert [s.code for s in finding.suggestions] == ["M25.561", "M25.562"]


def test_manifestation_listed_first_is_an_error(icd_db):
    finding = rules(check(icd_db, ["G63", "E11.42"]))["manifestation_first"]
    assert (finding.severity, finding.codes) == ("error", ["G63"])


def test_external_cause_listed_first_is_an_error(icd_db):
    finding = rules(check(icd_db, ["W54.0XXA", "S81.851A"]))["external_cause_first"]
    assert finding.severity == "error"
    assert [s.code for s in finding.suggestions] == ["S81.851A"]


def test_maternity_code_for_a_male_is_an_error(icd_db):
    report = check(icd_db, ["O80"], sex="M")
    assert rules(report)["sex_maternity"].severity == "error"
    assert report.verdict == "likely_denial"


def test_pediatric_exam_for_an_adult_warns(icd_db):
    finding = rules(check(icd_db, ["Z00.129"], age=45))["age_pediatric_exam"]
    assert (finding.severity, finding.basis) == ("warning", "CMS Medicare Code Editor: pediatric diagnoses, ages 0 to 17")


def test_preventive_and_problem_visit_mismatches(icd_db):
    assert rules(check(icd_db, ["Z00.00"], ["99213"]))["problem_visit_routine_dx"].severity == "warning"
    assert rules(check(icd_db, ["E11.9"], ["99396"]))["preventive_visit_problem_dx"].severity == "warning"
    clean = check(icd_db, ["Z00.00"], ["99396"], age=45)
    assert (clean.verdict, [f.rule for f in clean.findings if f.severity != "info"]) == ("ok", [])


def test_preventive_code_for_the_wrong_age_band(icd_db):
    assert "age_preventive_age_band_40_64" in rules(check(icd_db, ["Z00.00"], ["99396"], age=30))


def test_psychotherapy_without_a_behavioural_diagnosis(icd_db):
    finding = rules(check(icd_db, ["M54.2"], ["90837"]))["psychiatric_service_dx"]
    assert finding.severity == "warning" and finding.basis.startswith("starter policy: ")


def test_diabetes_visit_with_a1c_is_clean(icd_db):
    report = check(icd_db, ["E11.9"], ["99213", "83036"])
    assert report.verdict == "ok"
    assert all(f.severity == "info" for f in report.findings)


def test_every_finding_has_a_reason_and_a_basis(icd_db):
    report = check(icd_db, ["G63", "E11.42", "M25.569"], ["90837", "99396"], age=5, sex="M")
    assert report.findings
    assert all(f.message and f.basis and f.rule and f.codes for f in report.findings)
    assert [f.severity for f in report.findings] == sorted((f.severity for f in report.findings),
                                                           key=["error", "warning", "info"].index)


@pytest.mark.parametrize("dx, px", [
    (["!!!"], []), (["ZZZ.ZZZ"], []), (["E11.9.9.9.9.9"], []), (["x" * 500], []), (["E11.9"], ["ABCDE"]),
    (["E11.9"], ["J9998"]), (["E11.9"], ["12345"]), (["'; DROP TABLE codes;--"], ["99213"]),
])
def test_unknown_or_malformed_codes_are_findings_not_exceptions(icd_db, dx, px):
    report = check(icd_db, dx, px)
    assert report.findings
    assert report.verdict in ("likely_denial", "review", "ok")


def test_an_empty_claim_is_bad_input(icd_db):
    with pytest.raises(BadInput):
        check(icd_db)


def test_ncci_not_imported_is_said(icd_db):
    assert "ncci_not_loaded" in rules(check(icd_db, ["M79.7"], ["11042", "97597"]))


def test_official_ptp_layout_imports(ncci_db):
    ptp = [r for r in releases(ncci_db, "ncci_ptp_practitioner") if r["current"]][0]
    assert ptp["label"] == "2024-07"
    count = ncci_db.execute("SELECT count(*) FROM ncci_ptp WHERE release_id = ?", [ptp["id"]]).fetchone()[0]
    assert count == ptp["billable_count"] > 100
    active = ncci_db.execute("SELECT deletion FROM ncci_ptp WHERE release_id = ? AND column1 = '80053' AND"
                             " column2 = '80048'", [ptp["id"]]).fetchone()[0]
    assert active == "9999-12-31"  # "*" in the official file


def test_modifier_indicator_1_pair_warns_and_59_or_xs_clears_it(ncci_db):
    finding = rules(check(ncci_db, ["M79.7"], ["11042", "97597"]))["ncci_ptp_needs_modifier"]
    assert finding.severity == "warning"
    assert finding.basis.startswith("NCCI PTP practitioner 2024-07, modifier indicator 1")
    for modifier in ("59", "XS"):
        report = check(ncci_db, ["M79.7"], ["11042", f"97597-{modifier}"])
        assert "ncci_ptp_needs_modifier" not in rules(report)
        assert report.verdict == "ok"


def test_e_m_column_two_is_cleared_by_25(ncci_db):
    assert "ncci_ptp_needs_modifier" in rules(check(ncci_db, ["M17.11"], ["20610", "99213"]))
    assert "ncci_ptp_needs_modifier" not in rules(check(ncci_db, ["M17.11"], ["20610", "99213-25"]))


def test_modifier_indicator_0_pair_is_an_error(ncci_db):
    finding = rules(check(ncci_db, ["E11.9"], ["80053", "80048"]))["ncci_ptp_not_allowed"]
    assert finding.severity == "error" and finding.codes == ["80053", "80048"]


def test_deleted_edit_does_not_apply(ncci_db):
    # 97140/97530 (mutually exclusive) was deleted 2019-12-31: it applies to a 2019 date only.
    assert "ncci_ptp_needs_modifier" in rules(check(ncci_db, ["M54.50"], ["97530", "97140"], date_of_service="2019-06-01"))
    assert "ncci_ptp_needs_modifier" not in rules(check(ncci_db, ["M54.50"], ["97530", "97140"], date_of_service="2024-08-01"))


def test_units_above_the_mue(ncci_db):
    finding = rules(check(ncci_db, ["M54.50"], ["97110"], units_97110=8))["ncci_mue"]
    assert (finding.severity, finding.basis[:37]) == ("warning", "NCCI MUE practitioner 2024-07, MAI 3 ")
    assert rules(check(ncci_db, ["E11.9"], ["83036"], units_83036=2))["ncci_mue"].severity == "error"
    assert "ncci_mue" not in rules(check(ncci_db, ["M54.50"], ["97110"], units_97110=4))


def test_add_on_without_primary(ncci_db):
    finding = rules(check(ncci_db, ["F32.A"], ["90833"]))["ncci_add_on_without_primary"]
    assert finding.severity == "error" and "99213" in [s.code for s in finding.suggestions]
    assert "ncci_add_on_without_primary" not in rules(check(ncci_db, ["F32.A"], ["99213", "90833"]))


def test_coverage_article_lists(ncci_db, tmp_path):
    db = open_db(tmp_path / "mcd.db")
    ncci_db.conn.backup(db.conn)
    result = import_release(db, "mcd", FIXTURES / "mcd_testdata")
    assert result.label == "2026-01-15"
    noncovered = rules(check(db, ["Z00.00"], ["83036"]))["mcd_noncovered_dx"]
    assert noncovered.severity == "error" and "99901" in noncovered.basis
    missing = rules(check(db, ["I10"], ["83036"]))["mcd_no_covered_dx"]
    assert "TEST DATA" in missing.message and "groups 1, 2" in missing.message
    assert "mcd_no_covered_dx" not in rules(check(db, ["E11.65"], ["83036"]))  # E11.00-E11.9 range expanded


def test_bad_mcd_export_is_rejected(tmp_path, icd_db):
    (tmp_path / "article.csv").write_text("article_id,title\n1,x\n")
    with pytest.raises(BadReleaseFile, match="lacks"):
        import_release(icd_db, "mcd", tmp_path)


def test_local_policy_pack_adds_rules(icd_db, tmp_path):
    (tmp_path / "ours.toml").write_text(
        '[[rule]]\nid = "our_b12"\ntitle = "B12 injections need a deficiency"\nsource = "our payer contract"\n'
        'procedures = ["J3420"]\nneeds_any_dx = ["D51", "E53.8"]\nseverity = "warning"\n'
        'message = "{code} needs a B12 deficiency diagnosis for this payer."\n')
    report = check_claim(icd_db, ClaimRequest(diagnoses=["R53.83"], procedures=[ProcedureLine(code="J3420")]),
                         policy_dirs=(tmp_path,))
    finding = rules(report)["our_b12"]
    assert finding.basis == "local policy ours.toml: our payer contract"
    (tmp_path / "broken.toml").write_text("[[rule]\n")
    with pytest.raises(BadReleaseFile, match="broken.toml"):
        check_claim(icd_db, ClaimRequest(diagnoses=["R53.83"], procedures=[ProcedureLine(code="J3420")]),
                    policy_dirs=(tmp_path,))
