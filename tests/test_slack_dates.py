"""Dates of service, payer and diagnosis pointers through the real Bolt HTTP adapter (signed requests, loopback
Web API). Sources: icd10cm-tabular-2025-04 (G35 billable) and -2026-04 (G35 a header over G35.A-G35.D, FY2026);
ptp_practitioner_2024-07 (20610/99213 modifier indicator 1); mue_practitioner_2024-07 (99396 MUE 0)."""
from __future__ import annotations

from .slack_mock import all_text
from .test_slack_http import command, event, slack  # noqa: F401  (the module fixture)


def reply(slack, tag):  # noqa: F811
    return slack[0].wait_for(f"/respond/{tag}")[0]


def test_icd_lookup_answers_for_the_date_of_service(slack):  # noqa: F811
    command(slack, "/icd", "G35 dos:2025-06-01", "dos-g35-2025")
    text = all_text(reply(slack, "dos-g35-2025")["blocks"])
    assert "billable" in text and "ICD-10-CM 2025 tabular" in text and "header, not billable" not in text
    command(slack, "/icd", "G35 dos:2026-05-01", "dos-g35-2026")
    assert "header, not billable" in all_text(reply(slack, "dos-g35-2026")["blocks"])
    command(slack, "/icd", "G35.A dos:2025-06-01", "dos-g35a")
    assert "Not yet a code on 2025-06-01" in all_text(reply(slack, "dos-g35a")["blocks"])


def test_a_date_no_release_covers_is_said(slack):  # noqa: F811
    command(slack, "/icd", "E11.9 dos:2026-11-24", "dos-fy2027")
    assert "ICD-10-CM FY2027 (in effect 2026-10-01 to 2027-03-31) is not loaded" in \
        all_text(reply(slack, "dos-fy2027")["blocks"])


def test_bad_dates_and_payers_are_one_ephemeral_line(slack):  # noqa: F811
    for tag, name, text in (("bad-dos", "/icd", "E11.9 dos:2026-02-30"), ("old-dos", "/pair", "E11.9 99213 dos:2010-01-01"),
                            ("bad-payer", "/pair", "E11.9 99213 payer:acme"),
                            ("bad-pointer", "/pair", "E11.9 99213>4")):
        command(slack, name, text, tag)
        answer = reply(slack, tag)
        shown = all_text(answer["blocks"])
        assert answer["response_type"] == "ephemeral" and ":warning:" in shown
        assert "acme" not in shown


def test_pair_reads_pointers_payer_and_words(slack):  # noqa: F811
    # Pointers: 20610-RT points to M17.12 (left knee) -> laterality warning; 99213-25 bypasses the PTP edit.
    command(slack, "/pair", "M17.12 M17.11 20610-RT>1 99213-25>2 payer:medicare dos:2024-08-01", "pointers")
    text = all_text(reply(slack, "pointers")["blocks"])
    assert "billed on the right side (RT) but M17.12" in text
    # Medicare's MUE of 0 for a preventive visit: a child's claim for Medicaid is not Medicare's.
    command(slack, "/pair", "Z00.129 99383 age:7 payer:medicaid dos:2024-08-01", "child-medicaid")
    assert "MUE of 0" not in all_text(reply(slack, "child-medicaid")["blocks"])
    command(slack, "/pair", "I63.31 thrombosis of right carotid artery 99213 dos:2026-05-01", "words")
    text = all_text(reply(slack, "words")["blocks"])
    assert "`I63.031`" in text or "I63.031" in text


def test_app_home_shows_each_release_window(slack):  # noqa: F811
    event(slack, {"type": "app_home_opened", "user": "U_WIN", "channel": "D1", "tab": "home"})
    view = slack[0].wait_for("views.publish", user_id="U_WIN")[0]["view"]
    text = all_text(view["blocks"])
    assert "dates of service 2026-04-01 to 2026-09-30" in text
    assert "dates of service 2024-07-01 to 2024-09-30" in text
