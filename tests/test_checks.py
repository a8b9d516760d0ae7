"""Pairing checks on real data: the issue's acceptance cases, NCCI edits, coverage articles, policy packs."""
from __future__ import annotations

from pathlib import Path

import pytest

from codedata.checks import check_claim
from codedata.db import open_db, releases
from codedata.errors import BadInput, BadReleaseFile
from codedata.importers import import_release
from codedata.models import ClaimRequest, ProcedureLine

from codedata import ptp_store

from .conftest import PTP_SLICE, official_ptp_slice

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
    # icd10cm-tabular-2026-04: M25.569 "Pain in unspecified knee" beside M25.561 right / M25.562 left.
    finding = rules(check(icd_db, ["M25.569"], ["97110"]))["dx_unspecified_laterality"]
    assert finding.severity == "warning"
    assert [s.code for s in finding.suggestions] == ["M25.561", "M25.562"]


@pytest.mark.parametrize("code", ["J06.9", "E78.5", "E11.9", "I10", "M54.50", "R10.9"])
def test_standard_unspecified_codes_pass(icd_db, code):
    # Default codes whose other axes are not laterality (J06.9 acute URI unspecified, E78.5 hyperlipidemia
    # unspecified): nothing to warn about.
    report = check(icd_db, [code], ["99213"], date_of_service="2026-05-01")
    assert [f.rule for f in report.findings if f.severity != "info"] == []


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
    assert (finding.severity, finding.basis) == ("error", "CMS Medicare Code Editor: pediatric diagnoses, ages 0 to 17")
    assert "age_pediatric_exam" not in rules(check(icd_db, ["Z00.129"], age=7))


def test_preventive_and_problem_visit_mismatches(icd_db):
    assert rules(check(icd_db, ["Z00.00"], ["99213"]))["problem_visit_routine_dx"].severity == "warning"
    assert rules(check(icd_db, ["E11.9"], ["99396"]))["preventive_visit_problem_dx"].severity == "warning"
    clean = check(icd_db, ["Z00.00"], ["99396"], age=45)
    assert (clean.verdict, [f.rule for f in clean.findings if f.severity != "info"]) == ("ok", [])
    # A newborn weight check is an office visit: Z00.110 'Health examination for newborn under 8 days old'
    # (tabular 2026-04 line 233303; Z00.11 'Health check for child under 29 days old') with 99213 passes.
    newborn = check(icd_db, ["Z00.110"], ["99213"], age=0)
    assert (newborn.verdict, [f.rule for f in newborn.findings if f.severity != "info"]) == ("ok", [])


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


def test_ncci_not_imported_is_said(tmp_path):
    db = open_db(tmp_path / "bare.db")
    import_release(db, "cpt", Path(__file__).parents[1] / "codedata" / "data" / "cpt_starter.tsv")
    assert "ncci_not_loaded" in rules(check(db, [], ["11042", "97597"]))


def test_ncci_is_bundled_and_judged_by_its_window(ncci_db):
    # Bundled: CMS practitioner PTP July 2024 (2,546,017 rows), MUE July 2024, AOC 2024.
    ptp = [r for r in releases(ncci_db, "ncci_ptp_practitioner") if r["current"]][0]
    assert (ptp["label"], ptp["billable_count"]) == ("2024-07", 2_546_017)
    def notices(report):
        return [f.message for f in report.findings if f.rule == "release_not_loaded" and "NCCI" in f.message]

    inside = check(ncci_db, ["M79.7"], ["11042", "97597"], date_of_service="2024-08-01")
    assert notices(inside) == [] and "ncci_not_loaded" not in rules(inside)
    later = check(ncci_db, ["M79.7"], ["11042", "97597"], date_of_service="2026-05-01")
    assert "NCCI PTP practitioner edits 2026 Q2 (in effect 2026-04-01 to 2026-06-30) is not loaded" in notices(later)[0]
    assert "2024-07 is 7 quarters old" in notices(later)[0]


def test_official_ptp_layout_imports(tmp_path):
    # The official CMS file is tab-delimited with notice lines, "*" for no deletion date, YYYYMMDD dates.
    db = open_db(tmp_path / "ptp.db")
    result = import_release(db, "ncci", official_ptp_slice(tmp_path / "ccipra_practitioner_2024-07.txt"))
    assert (result.system, result.label) == ("ncci_ptp_practitioner", "2024-07")
    assert sum(len(ptp_store.edits_of(db.conn, result.release_id, code)) for code in PTP_SLICE) == \
        result.billable_count > 100
    edit = next(e for e in ptp_store.edits_of(db.conn, result.release_id, "80053") if e["column2"] == "80048")
    assert (edit["deletion"], edit["modifier_indicator"]) == ("9999-12-31", "0")  # "*" in the official file


def test_modifier_indicator_1_pair_is_denied_and_59_or_xs_clears_it(ncci_db):
    # ptp_practitioner_2024-07: 11042/97597 modifier indicator 1; without a modifier it is denied as submitted.
    finding = rules(check(ncci_db, ["M79.7"], ["11042", "97597"]))["ncci_ptp_needs_modifier"]
    assert finding.severity == "error"
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
    # mue_practitioner_2024-07: 97110,6,3 (MAI 3: date-of-service edit, denied as submitted).
    finding = rules(check(ncci_db, ["M54.50"], ["97110"], units_97110=8))["ncci_mue"]
    assert (finding.severity, finding.basis[:37]) == ("error", "NCCI MUE practitioner 2024-07, MAI 3 ")
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


# --- guideline conventions: what must fire and what must not ---------------------------------------


@pytest.mark.parametrize("dx", [["N18.31"], ["J18.9"], ["Z23"], ["E66.01"], ["G30.1", "F02.80"], ["N18.4", "D63.1"]])
def test_code_first_notes_alone_are_not_manifestations(icd_db, dx):
    # N18, J18, Z23 and E66 carry "code first" notes (sequencing advice, guideline I.A.13), not the manifestation
    # convention; G30.1 (etiology) before F02.80 (manifestation) is the right order.
    report = check(icd_db, dx, ["99213"], date_of_service="2026-05-01")
    assert report.verdict == "ok", [f.rule for f in report.findings]


def test_manifestation_in_diseases_classified_elsewhere_first_is_denied(icd_db):
    # F02.80 "Dementia in other diseases classified elsewhere, unspecified severity, without ..." (I.A.13).
    finding = rules(check(icd_db, ["F02.80", "G30.1"], date_of_service="2026-05-01"))["manifestation_first"]
    assert finding.severity == "error" and "classified elsewhere" in finding.message


def test_code_first_condition_listed_after_is_a_sequencing_warning(icd_db):
    # D63.1 "code first underlying chronic kidney disease (CKD) (N18.-)".
    finding = rules(check(icd_db, ["D63.1", "N18.4"], date_of_service="2026-05-01"))["code_first_order"]
    assert finding.severity == "warning" and finding.codes == ["D63.1", "N18.4"]


def test_organism_code_first_is_denied_and_after_is_fine(icd_db):
    # Block B95-B97 note: "These categories are provided for use as supplementary or additional codes ...".
    finding = rules(check(icd_db, ["B96.20", "N39.0"], date_of_service="2026-05-01"))["supplementary_first"]
    assert finding.severity == "error" and [s.code for s in finding.suggestions] == ["N39.0"]
    assert check(icd_db, ["N39.0", "B96.20"], ["81001"], date_of_service="2026-05-01").verdict == "ok"


# --- demographics from the tabular ---------------------------------------------------------------


def test_bmi_codes_follow_the_age_ranges_in_the_z68_notes(icd_db):
    # Z68 notes: "BMI adult codes are for use for persons 20 years of age or older"; "BMI pediatric codes are
    # for use for persons 2-19 years of age."
    adult_on_child = rules(check(icd_db, ["E66.9", "Z68.30"], age=10, date_of_service="2026-05-01"))
    assert adult_on_child["age_tabular_note"].severity == "error"
    assert "age_tabular_note" in rules(check(icd_db, ["E66.9", "Z68.54"], age=52, date_of_service="2026-05-01"))
    for dx, age in ((["E66.9", "Z68.30"], 45), (["E66.9", "Z68.54"], 12)):
        assert check(icd_db, dx, ["99213"], age=age, date_of_service="2026-05-01").verdict == "ok"


def test_sex_named_in_the_title(icd_db):
    # C50.911 "Malignant neoplasm of unspecified site of right female breast"; C50.921 is the male breast.
    assert rules(check(icd_db, ["C50.911"], sex="M", date_of_service="2026-05-01"))["sex_in_title"].severity == "error"
    assert "sex_in_title" not in rules(check(icd_db, ["C50.911"], sex="F", date_of_service="2026-05-01"))
    assert "sex_in_title" not in rules(check(icd_db, ["C50.921"], sex="M", date_of_service="2026-05-01"))


# --- claim shape: pointers, payer, laterality modifiers, summed units ------------------------------


def line(code, units=1, modifiers=(), pointers=()):
    return ProcedureLine(code=code, units=units, modifiers=list(modifiers), pointers=list(pointers))


def test_laterality_modifier_against_the_pointed_diagnosis(icd_db):
    # M17.12 "Unilateral primary osteoarthritis, left knee" on a line billed RT.
    request = ClaimRequest(diagnoses=["M17.12", "M17.11"], procedures=[line("20610", modifiers=["RT"], pointers=[1])],
                           date_of_service="2026-05-01")
    assert rules(check_claim(icd_db, request))["laterality_modifier"].severity == "warning"
    matching = request.model_copy(update={"procedures": [line("20610", modifiers=["RT"], pointers=[2])]})
    assert "laterality_modifier" not in rules(check_claim(icd_db, matching))
    # Without pointers every diagnosis supports the line: one of them is the right knee.
    unpointed = request.model_copy(update={"procedures": [line("20610", modifiers=["RT"])]})
    assert "laterality_modifier" not in rules(check_claim(icd_db, unpointed))


def test_units_are_summed_across_lines_for_a_date_of_service_edit(ncci_db):
    # mue_practitioner_2024-07: 97110,6,3 - MAI 3 is a date-of-service edit: 4 + 3 = 7 units over 6.
    request = ClaimRequest(diagnoses=["M17.11", "R26.2"], procedures=[line("97110", 4, pointers=[1]),
                                                                     line("97110", 3, pointers=[2])],
                           date_of_service="2024-08-01")
    finding = rules(check_claim(ncci_db, request))["ncci_mue"]
    assert finding.severity == "error" and "7 units" in finding.message
    fewer = request.model_copy(update={"procedures": [line("97110", 3), line("97110", 3)]})
    assert "ncci_mue" not in rules(check_claim(ncci_db, fewer))


def test_medicare_only_limits_apply_only_where_medicare_can_be_meant(ncci_db):
    # mue_practitioner_2024-07: 99383,0,3 (CMS Policy): Medicare does not pay preventive visits.
    child = ClaimRequest(diagnoses=["Z00.129"], procedures=[line("99383")], age=7, date_of_service="2024-08-01")
    assert "ncci_mue_not_payable" not in rules(check_claim(ncci_db, child))
    medicaid = child.model_copy(update={"payer": "medicaid"})
    assert "ncci_mue_not_payable" not in rules(check_claim(ncci_db, medicaid))
    adult = ClaimRequest(diagnoses=["Z00.00"], procedures=[line("99396")], age=70, date_of_service="2024-08-01")
    unknown = rules(check_claim(ncci_db, adult))["ncci_mue_not_payable"]
    assert unknown.message.startswith("Medicare's rule (payer not given): ") and unknown.severity == "warning"
    younger = rules(check_claim(ncci_db, adult.model_copy(update={"age": 45})))["ncci_mue_not_payable"]
    assert younger.severity == "info"  # not a denial when nobody said it is a Medicare claim
    stated = rules(check_claim(ncci_db, adult.model_copy(update={"payer": "medicare"})))["ncci_mue_not_payable"]
    assert stated.message.startswith("99396 has an MUE of 0") and stated.severity == "error"


def test_medicare_screening_lipids_take_z13_6(icd_db):
    # Medicare Claims Processing Manual ch. 18 s. 30: cardiovascular screening blood tests with Z13.6.
    ok = ClaimRequest(diagnoses=["Z13.6"], procedures=[line("80061")], payer="medicare", date_of_service="2026-05-01")
    assert "lipid_dx" not in rules(check_claim(icd_db, ok))
    z13220 = ok.model_copy(update={"diagnoses": ["Z13.220"]})
    assert "Z13.6" in rules(check_claim(icd_db, z13220))["lipid_dx"].message
    commercial = z13220.model_copy(update={"payer": "commercial"})
    assert "lipid_dx" not in rules(check_claim(icd_db, commercial))


@pytest.mark.parametrize("request_", [
    ClaimRequest(diagnoses=["E11.9"], procedures=[ProcedureLine(code="99213", pointers=[2])]),
    ClaimRequest(diagnoses=["E11.9"], procedures=[ProcedureLine(code="99213", units=0)]),
])
def test_bad_claim_shape_is_one_line(icd_db, request_):
    with pytest.raises(BadInput) as caught:
        check_claim(icd_db, request_)
    assert "\n" not in str(caught.value)


def test_the_same_anatomic_modifier_on_both_lines_does_not_bypass_a_ptp_edit(ncci_db):
    # ptp_practitioner_2024-07: 25600,29125,9999-12-31,1 - RT on both lines is the same site (NCCI Policy Manual
    # ch. I: anatomic modifiers bypass an edit only for a different site).
    same = ClaimRequest(diagnoses=["S52.521A"], procedures=[line("25600", modifiers=["RT"]),
                                                            line("29125", modifiers=["RT"])],
                        date_of_service="2024-09-02")
    assert rules(check_claim(ncci_db, same))["ncci_ptp_needs_modifier"].severity == "error"
    other_side = same.model_copy(update={"procedures": [line("25600", modifiers=["RT"]),
                                                        line("29125", modifiers=["LT"])]})
    assert "ncci_ptp_needs_modifier" not in rules(check_claim(ncci_db, other_side))


def test_words_beside_a_code_that_describe_another_code(icd_db):
    # icd10cm-tabular-2026-04: I63.31 "Cerebral infarction due to thrombosis of middle cerebral artery";
    # I63.031 "Cerebral infarction due to thrombosis of right carotid artery".
    words = "thrombosis of right carotid artery"
    report = check(icd_db, ["I63.31"], ["99213"], date_of_service="2026-05-01", described={"I6331": words})
    finding = rules(report)["words_describe_another_code"]
    assert finding.severity == "warning" and finding.suggestions[0].code == "I63.031"
    assert words.replace("right", "rt") not in finding.message
    typed = check(icd_db, ["I63.31"], ["99213"], date_of_service="2026-05-01",
                  described={"I6331": "rt carotid thrombosis"})
    assert "rt carotid" not in rules(typed)["words_describe_another_code"].message  # typed words never echoed
    agreeing = check(icd_db, ["I63.031"], ["99213"], date_of_service="2026-05-01", described={"I63031": words})
    assert "words_describe_another_code" not in rules(agreeing)


# Found by a black-box pass (2026-11-24): these passed as OK.
def test_procedures_without_a_diagnosis_are_returned_unprocessed(icd_db):
    report = check(icd_db, [], ["99213"])  # CMS-1500 item 21: at least one diagnosis
    assert (report.verdict, rules(report)["no_diagnosis"].severity) == ("likely_denial", "error")


def test_a_diagnosis_listed_twice_is_a_warning(icd_db):
    # E11.9 and I10 (tabular 2026-04) are valid; listing E11.9 twice is the problem (CMS-1500 item 21).
    report = check(icd_db, ["E11.9", "E11.9", "I10"], ["99213"])
    assert report.verdict == "review" and rules(report)["repeated_diagnosis"].codes == ["E11.9"]
    assert check(icd_db, ["E11.9", "I10"], ["99213"]).verdict == "ok"


def test_excludes1_pair_supporting_separate_services_is_the_unrelated_exception(icd_db):
    # Tabular 2026-04 line 233539: Excludes1 at Z01.41 'screening cervical pap smear not a part of a routine
    # gynecological examination (Z12.4)'. Medicare bills the exam (G0101) for Z01.419 and the Pap collection
    # (Q0091) for Z12.4: each line names its own diagnosis, the "unrelated" exception of guideline I.A.12.a.
    separate = ClaimRequest(diagnoses=["Z12.4", "Z01.419"], sex="F", age=67, date_of_service="2026-05-01",
                            procedures=[line("G0101", pointers=[2]), line("Q0091", pointers=[1])])
    assert "excludes1" not in rules(check_claim(icd_db, separate))
    # One line for both, or no pointers at all: the pair is coded together, and a coder should look.
    together = separate.model_copy(update={"procedures": [line("G0101", pointers=[1, 2])]})
    assert rules(check_claim(icd_db, together))["excludes1"].severity == "warning"
    unpointed = separate.model_copy(update={"procedures": [line("G0101"), line("Q0091")]})
    assert rules(check_claim(icd_db, unpointed))["excludes1"].severity == "warning"


def test_side_modifier_with_a_diagnosis_that_names_no_side(icd_db):
    # Tabular 2026-04 line 96288 M17.9 'Osteoarthritis of knee, unspecified'; line 96245 M17.11 '..., right knee':
    # a right knee replacement (27447-RT) for M17.9 names the side the diagnosis leaves out (guideline I.B.13).
    unsided = ClaimRequest(diagnoses=["M17.9"], procedures=[line("27447", modifiers=["RT"], pointers=[1])],
                           age=69, sex="F", date_of_service="2026-05-01")
    assert rules(check_claim(icd_db, unsided))["laterality_unstated"].severity == "warning"
    sided = unsided.model_copy(update={"diagnoses": ["M17.11"]})
    assert "laterality_unstated" not in rules(check_claim(icd_db, sided))
    # E11.9 has no right/left codes in its category: a side modifier says nothing against it.
    sideless = unsided.model_copy(update={"diagnoses": ["E11.9"]})
    assert "laterality_unstated" not in rules(check_claim(icd_db, sideless))


def test_bilateral_modifier_for_a_one_sided_diagnosis(icd_db):
    # Line 57327 H61.21 'Impacted cerumen, right ear'; line 57335 H61.23 '..., bilateral'.
    one_side = ClaimRequest(diagnoses=["H61.21"], procedures=[line("69210", modifiers=["50"], pointers=[1])],
                            age=73, sex="M", date_of_service="2026-05-01")
    assert rules(check_claim(icd_db, one_side))["laterality_modifier"].severity == "warning"
    both = one_side.model_copy(update={"diagnoses": ["H61.23"]})
    assert "laterality_modifier" not in rules(check_claim(icd_db, both))
    right_and_left = one_side.model_copy(update={"diagnoses": ["H61.21", "H61.22"],
                                                 "procedures": [line("69210", modifiers=["50"], pointers=[1, 2])]})
    assert "laterality_modifier" not in rules(check_claim(icd_db, right_and_left))


def test_an_additional_code_listed_first(icd_db):
    # Line 24336 E11 'Type 2 diabetes mellitus', its note "use additional code to identify control using ...
    # insulin (Z79.4)": Z79.4 (line 239852) goes after the diabetes code.
    first = ClaimRequest(diagnoses=["Z79.4", "E11.65"], procedures=[line("99214", pointers=[1, 2])],
                         age=59, sex="F", date_of_service="2026-05-01")
    assert rules(check_claim(icd_db, first))["additional_code_first"].severity == "warning"
    second = first.model_copy(update={"diagnoses": ["E11.65", "Z79.4"]})
    assert "additional_code_first" not in rules(check_claim(icd_db, second))


def test_a_treatment_encounter_listed_after_the_cancer(icd_db):
    # Guideline I.C.2.e.2: an encounter solely for chemotherapy lists Z51.11 (line 237377) first, the malignancy
    # (C50.912, 'Malignant neoplasm of unspecified site of left female breast') after it.
    after = ClaimRequest(diagnoses=["C50.912", "Z51.11"], procedures=[line("96413", pointers=[1, 2])],
                         age=57, sex="F", date_of_service="2026-05-01")
    assert rules(check_claim(icd_db, after))["treatment_encounter_first"].severity == "warning"
    first = after.model_copy(update={"diagnoses": ["Z51.11", "C50.912"]})
    assert "treatment_encounter_first" not in rules(check_claim(icd_db, first))
    alone = after.model_copy(update={"diagnoses": ["C50.912"], "procedures": [line("96413")]})
    assert "treatment_encounter_first" not in rules(check_claim(icd_db, alone))


def test_orthopedic_aftercare_with_the_injury_subsequent_encounter(icd_db):
    # Z47 Excludes1 (line 237085) 'aftercare for healing fracture-code to fracture with 7th character D';
    # guideline I.C.21.c.7. S72.001D says it alone; Z47.89 after a joint replacement (no injury code) is fine.
    both = ClaimRequest(diagnoses=["Z47.89", "S72.001D"], procedures=[line("97110", units=2, pointers=[1, 2])],
                        age=79, sex="F", date_of_service="2026-05-01")
    assert rules(check_claim(icd_db, both))["aftercare_for_injury"].severity == "warning"
    injury = both.model_copy(update={"diagnoses": ["S72.001D"], "procedures": [line("97110", units=2)]})
    assert "aftercare_for_injury" not in rules(check_claim(icd_db, injury))
    joint = both.model_copy(update={"diagnoses": ["Z47.1", "Z96.651"]})
    assert "aftercare_for_injury" not in rules(check_claim(icd_db, joint))


def test_a_perinatal_code_for_an_adult(icd_db):
    # P22.1 'Transient tachypnea of newborn' at 58: the Medicare Code Editor's perinatal codes are age 0; guideline
    # I.C.16.a.4 lets one follow a child whose condition persists (P27.1 bronchopulmonary dysplasia at 3).
    adult = ClaimRequest(diagnoses=["P22.1"], procedures=[line("99214")], age=58, sex="M",
                         date_of_service="2026-05-01")
    report = check_claim(icd_db, adult)
    assert report.verdict == "likely_denial" and rules(report)["age_perinatal_adult"].severity == "error"
    child = adult.model_copy(update={"diagnoses": ["P27.1"], "age": 3})
    assert not [r for r in rules(check_claim(icd_db, child)) if r.startswith("age_")]


def test_a_pregnancy_code_defined_by_the_mothers_age_at_delivery(icd_db):
    # Tabular O09.5 inclusion 'Pregnancy for a female 35 years and older at expected date of delivery'
    # (icd10cm-tabular-2025-04 line 126046); O09.6 '... less than 16 years old at expected date of delivery'
    # (line 126093). The age is at delivery: 34 at the visit may be 35 by then, 24 cannot.
    young = ClaimRequest(diagnoses=["O09.521", "Z3A.09"], procedures=[line("76801")], age=24, sex="F",
                         date_of_service="2026-05-01")
    report = check_claim(icd_db, young)
    assert report.verdict == "likely_denial" and rules(report)["age_at_delivery"].codes == ["O09.521"]
    for age in (34, 41):
        assert "age_at_delivery" not in rules(check_claim(icd_db, young.model_copy(update={"age": age})))
    teen = young.model_copy(update={"diagnoses": ["O09.611", "Z3A.09"], "age": 15})
    assert "age_at_delivery" not in rules(check_claim(icd_db, teen))
    assert "age_at_delivery" in rules(check_claim(icd_db, teen.model_copy(update={"age": 19})))


def test_a_modifier_given_twice_on_a_line(icd_db):
    # hostile pass 4: 99213-25-25 passed as OK (CMS-1500 24D: each modifier position a different modifier)
    twice = ClaimRequest(diagnoses=["J06.9"], procedures=[line("99213", modifiers=["25", "25"])],
                         date_of_service="2026-05-01")
    assert rules(check_claim(icd_db, twice))["repeated_modifier"].severity == "warning"
    once = twice.model_copy(update={"procedures": [line("99213", modifiers=["25"])]})
    assert "repeated_modifier" not in rules(check_claim(icd_db, once))


def test_the_same_code_twice_does_not_contradict_itself(icd_db):
    # hostile pass 4: "E11.9 E11.9" was also reported as E11.9 contradicting E11.9
    twice = ClaimRequest(diagnoses=["E11.9", "E11.9"], procedures=[line("99213")], date_of_service="2026-05-01")
    found = rules(check_claim(icd_db, twice))
    assert "repeated_diagnosis" in found  # the repeat reached the rules
    assert "uncomplicated_with_complication" not in found
    # and the rule still fires for a real complication beside it (E11.65, with hyperglycemia)
    other = twice.model_copy(update={"diagnoses": ["E11.9", "E11.65"]})
    assert "uncomplicated_with_complication" in rules(check_claim(icd_db, other))


def test_a_symptom_listed_before_the_diagnosis_that_explains_it(icd_db):
    # Guidelines I.B.5 and IV.D: fever (R50.9) first with pneumonia (J18.9) confirmed is a review; pneumonia first
    # is not questioned here, nor fever beside an unrelated condition (I10), nor dysuria after a UTI (N39.0).
    fever = ClaimRequest(diagnoses=["R50.9", "J18.9"], procedures=[line("99214")], age=64, sex="F",
                         date_of_service="2026-05-01")
    finding = rules(check_claim(icd_db, fever))["symptom_first_with_its_diagnosis"]
    assert finding.severity == "warning" and finding.codes == ["R50.9", "J18.9"]
    for dx in (["J18.9", "R50.9"], ["R50.9", "I10"], ["N39.0", "R30.0"]):
        assert "symptom_first_with_its_diagnosis" not in rules(check_claim(icd_db, fever.model_copy(
            update={"diagnoses": dx}))), dx


def test_studies_whose_diagnosis_does_not_call_for_them(icd_db):
    # NCD 150.3: a bone density study for hyperlipidemia alone (E78.5) is questioned, for osteoporosis (M81.0)
    # not; OCG IV.C: a lumbar MRI (72148) for a headache (R51.9) is questioned, for radiculopathy (M54.16) not;
    # SSA 1862(a)(7): retinal OCT (92134) for presbyopia (H52.4) alone is questioned, for macular degeneration not.
    cases = [("bone_density_dx", "77080", "E78.5", "M81.0"), ("spine_imaging_dx", "72148", "R51.9", "M54.16"),
             ("eye_imaging_refractive_dx", "92134", "H52.4", "H35.3131")]
    for rule, code, unrelated, indication in cases:
        claim = ClaimRequest(diagnoses=[unrelated], procedures=[line(code)], age=62, sex="F", payer="commercial",
                             date_of_service="2026-05-01")
        assert rules(check_claim(icd_db, claim))[rule].severity == "warning", rule
        fitting = claim.model_copy(update={"diagnoses": [indication]})
        assert rule not in rules(check_claim(icd_db, fitting)), rule


def test_screening_pap_for_medicare_needs_a_screening_diagnosis(icd_db):
    # NCD 210.2: Q0091 with only a general adult exam (Z00.00) is questioned; with Z01.419 (gynecological exam
    # without abnormal findings) it is not. The rule is Medicare's: a commercial claim is not questioned.
    general = ClaimRequest(diagnoses=["Z00.00"], procedures=[line("Q0091")], age=67, sex="F", payer="medicare",
                           date_of_service="2026-05-01")
    assert rules(check_claim(icd_db, general))["screening_pap_pelvic_dx"].severity == "warning"
    gyn = general.model_copy(update={"diagnoses": ["Z01.419"]})
    assert "screening_pap_pelvic_dx" not in rules(check_claim(icd_db, gyn))
    commercial = general.model_copy(update={"payer": "commercial"})
    assert "screening_pap_pelvic_dx" not in rules(check_claim(icd_db, commercial))


def test_anemia_in_ckd_listed_first_is_a_manifestation(icd_db):
    # D63 'Anemia in chronic diseases classified elsewhere': D63.1 'Anemia in chronic kidney disease' is a
    # manifestation code (guideline I.A.13), never first; after N18.4 it is fine.
    first = ClaimRequest(diagnoses=["D63.1", "N18.4"], procedures=[line("85025", pointers=[1, 2])], age=71, sex="M",
                         date_of_service="2026-05-01")
    assert rules(check_claim(icd_db, first))["manifestation_first"].severity == "error"
    after = first.model_copy(update={"diagnoses": ["N18.4", "D63.1"]})
    assert "manifestation_first" not in rules(check_claim(icd_db, after))
    # A history code is no manifestation, though Z87 says "code first any follow-up examination (Z09)" and Z09
    # names Z87 back.
    history = first.model_copy(update={"diagnoses": ["Z87.891"], "procedures": [line("99213")]})
    assert "manifestation_first" not in rules(check_claim(icd_db, history))
    # "in conditions classified elsewhere" names one too: G47.37 'Central sleep apnea in conditions classified
    # elsewhere' first is an error; G47.31 'Primary central sleep apnea' is not.
    apnea = first.model_copy(update={"diagnoses": ["G47.37", "I50.9"], "procedures": [line("95810")]})
    assert rules(check_claim(icd_db, apnea))["manifestation_first"].severity == "error"
    primary = apnea.model_copy(update={"diagnoses": ["G47.31"]})
    assert "manifestation_first" not in rules(check_claim(icd_db, primary))


def test_an_additional_code_first_that_supports_its_own_service(icd_db):
    # J41 'use additional code to identify ... tobacco dependence (F17.-)': F17.210 first is fine when a line
    # points to it alone (cessation counselling 99406 for the smoker's bronchitis visit).
    claim = ClaimRequest(diagnoses=["F17.210", "J41.0"],
                         procedures=[line("99214", pointers=[1, 2]), line("99406", pointers=[1])],
                         age=45, sex="F", date_of_service="2026-05-01")
    assert "additional_code_first" not in rules(check_claim(icd_db, claim))
    shared = claim.model_copy(update={"procedures": [line("99214", pointers=[1, 2])]})
    assert rules(check_claim(icd_db, shared))["additional_code_first"].severity == "warning"


def test_a_line_left_without_a_pointer(icd_db):
    # CMS-1500 item 24E: when the other lines point to diagnoses, a line with none is an error; a claim with no
    # pointers at all reads every line for every diagnosis.
    mixed = ClaimRequest(diagnoses=["E78.5"], procedures=[line("99213", pointers=[1]), line("80061")], age=55,
                         sex="M", date_of_service="2026-05-01")
    report = check_claim(icd_db, mixed)
    assert report.verdict == "likely_denial" and rules(report)["line_without_pointer"].codes == ["80061"]
    none = mixed.model_copy(update={"procedures": [line("99213"), line("80061")]})
    assert "line_without_pointer" not in rules(check_claim(icd_db, none))


def test_hypertension_with_ckd_or_heart_failure_is_a_combination_code(icd_db):
    # Guideline I.C.9.a.2: I10 beside N18.30 is coded I12.9 with N18.30; I.C.9.a.1: beside I50.9, I11.0.
    ckd = ClaimRequest(diagnoses=["I10", "N18.30"], procedures=[line("99213")], age=66, sex="F",
                       date_of_service="2026-05-01")
    finding = rules(check_claim(icd_db, ckd))["hypertension_combination"]
    assert finding.severity == "warning" and [s.code for s in finding.suggestions] == ["I12.9"]
    failure = ckd.model_copy(update={"diagnoses": ["I10", "I50.9"]})
    assert [s.code for s in rules(check_claim(icd_db, failure))["hypertension_combination"].suggestions] == ["I11.0"]
    combined = ckd.model_copy(update={"diagnoses": ["I12.9", "N18.30"]})
    assert "hypertension_combination" not in rules(check_claim(icd_db, combined))


def test_screening_mammogram_for_a_breast_lump_and_counselling_for_a_former_smoker(icd_db):
    # NCD 220.4: a lump (N63.10 'Unspecified lump in the right breast, unspecified quadrant') calls for a
    # diagnostic mammogram; Z12.31 alone is the screening one. 99406 with only Z87.891 (history) is questioned.
    lump = ClaimRequest(diagnoses=["N63.10"], procedures=[line("77067")], age=52, sex="F",
                        date_of_service="2026-05-01")
    assert rules(check_claim(icd_db, lump))["screening_mammography_symptom_dx"].severity == "warning"
    screen = lump.model_copy(update={"diagnoses": ["Z12.31"]})
    assert "screening_mammography_symptom_dx" not in rules(check_claim(icd_db, screen))
    former = ClaimRequest(diagnoses=["Z87.891"], procedures=[line("99406")], age=57, sex="M",
                          date_of_service="2026-05-01")
    assert rules(check_claim(icd_db, former))["cessation_counselling_history_dx"].severity == "warning"
    current = former.model_copy(update={"diagnoses": ["F17.210"]})
    assert "cessation_counselling_history_dx" not in rules(check_claim(icd_db, current))


def test_a_procedure_number_in_no_cpt_file_and_no_cms_edit_file(ncci_db):
    # 99999 and 0000T are in no CPT file medcode holds and in none of the NCCI July 2024 files: check the number.
    for code in ("99999", "0000T"):
        report = check(ncci_db, ["E11.9"], [code], date_of_service="2024-08-01")
        assert rules(report)["px_not_found"].severity == "warning"
    # 27445 has no starter descriptor, but the NCCI files name it (mue_practitioner_2024-07 line 2418): only the
    # info line.
    real = rules(check(ncci_db, ["M17.11"], ["27445"], date_of_service="2024-08-01"))
    assert "px_not_found" not in real and real["px_unconfirmed"].severity == "info"
    # After the loaded quarter a code may simply be newer than the edits: no warning.
    assert "px_not_found" not in rules(check(ncci_db, ["E11.9"], ["99999"], date_of_service="2026-05-01"))


def test_a_modifier_medcode_does_not_know_is_said_not_judged(icd_db):
    # Third black-box pass: 99213-ZZ passed without a word. ZZ is in no modifier table medcode holds: an info line
    # (the table has the common modifiers only, so a rare valid one must not make a clean claim a review).
    report = check(icd_db, ["E11.9"], ["99213-ZZ"], date_of_service="2026-05-01")
    assert rules(report)["modifier_unknown"].severity == "info" and report.verdict == "ok"
    assert "modifier_unknown" not in rules(check(icd_db, ["M79.644"], ["20550-F7"], date_of_service="2026-05-01"))


def test_adverse_effect_first_and_gestational_diabetes_with_insulin_use(icd_db):
    # Guideline I.C.19.e.5.a: the effect (R42 'Dizziness and giddiness') first, then T46.5X5A 'Adverse effect of
    # other antihypertensive drugs, initial encounter'; I.C.15.g: Z79.4 is not coded with O24.414 'Gestational
    # diabetes mellitus in pregnancy, insulin controlled'.
    first = ClaimRequest(diagnoses=["T46.5X5A", "R42"], procedures=[line("99213")], age=70, sex="M",
                         date_of_service="2026-05-01")
    assert rules(check_claim(icd_db, first))["adverse_effect_first"].severity == "warning"
    ordered = first.model_copy(update={"diagnoses": ["R42", "T46.5X5A"]})
    assert "adverse_effect_first" not in rules(check_claim(icd_db, ordered))
    gdm = ClaimRequest(diagnoses=["O24.414", "Z3A.30", "Z79.4"], procedures=[line("99213")], age=31, sex="F",
                       date_of_service="2026-05-01")
    assert rules(check_claim(icd_db, gdm))["gestational_diabetes_drug_use"].severity == "warning"
    type2 = gdm.model_copy(update={"diagnoses": ["O24.113", "Z3A.30", "Z79.4"]})
    assert "gestational_diabetes_drug_use" not in rules(check_claim(icd_db, type2))


def test_a_finger_modifier_names_a_side(icd_db):
    # F5 is the right thumb (HCPCS site modifiers); M65.312 'Trigger thumb, left thumb' is the other side; FA
    # (left thumb) agrees.
    wrong = ClaimRequest(diagnoses=["M65.312"], procedures=[line("20550", modifiers=["F5"], pointers=[1])],
                         age=62, sex="F", date_of_service="2026-05-01")
    finding = rules(check_claim(icd_db, wrong))["laterality_modifier"]
    assert finding.severity == "warning" and "(F5)" in finding.message
    right = wrong.model_copy(update={"procedures": [line("20550", modifiers=["FA"], pointers=[1])]})
    assert "laterality_modifier" not in rules(check_claim(icd_db, right))


def test_without_complications_beside_a_complication_of_the_same_condition(icd_db):
    # E11.9 'Type 2 diabetes mellitus without complications' contradicts E11.65 '... with hyperglycemia'; E11.9 with
    # I10 (another condition) is fine, as is E11.65 with E11.40 (two complications).
    both = ClaimRequest(diagnoses=["E11.9", "E11.65"], procedures=[line("99214")], age=60, sex="F",
                        date_of_service="2026-05-01")
    assert rules(check_claim(icd_db, both))["uncomplicated_with_complication"].severity == "warning"
    for fine in (["E11.9", "I10"], ["E11.65", "E11.40"]):
        other = both.model_copy(update={"diagnoses": fine})
        assert "uncomplicated_with_complication" not in rules(check_claim(icd_db, other))
