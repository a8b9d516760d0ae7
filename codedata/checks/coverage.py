"""Rule family 6, coverage policies: imported Medicare Coverage Database articles, and policy packs (the
bundled starter pack plus an organisation's own TOML files)."""
from __future__ import annotations

from pathlib import Path

from ..models import Finding
from .claim import Claim
from .codesets import bundled_toml, in_codeset, read_toml


def policy_packs(extra_dirs: tuple[Path, ...] = ()) -> list[dict]:
    """Return every policy rule: the bundled starter pack, then *.toml packs in the given folders."""
    rules = [dict(r, pack="starter policy") for r in bundled_toml("policies/starter.toml")["rule"]]
    for folder in extra_dirs:
        for path in sorted(Path(folder).glob("*.toml")):
            rules += [dict(r, pack=f"local policy {path.name}") for r in read_toml(path).get("rule", [])]
    return rules


def pack_rules(claim: Claim) -> list[Finding]:
    """Findings for each procedure line a policy rule scopes and whose diagnoses (those the line points to, or all
    of them) it questions. A rule of one payer (payer = "medicare") applies only where that payer can be meant."""
    findings = []
    for rule in policy_packs(claim.policy_dirs):
        payer = rule.get("payer")
        if payer and not claim.payer_may_be(payer):
            continue
        for px in (p for p in claim.procedures if p.shape and in_codeset(p.line.code, rule["procedures"])):
            dx = [d.shown for d in claim.diagnoses_for(px) if d.row]
            if dx and _triggered(rule, dx):
                whose = claim.whose(payer) if payer else ""
                severity = rule.get("severity", "warning")
                findings.append(Finding(severity=claim.payer_severity(payer, severity) if payer else severity,
                                        rule=rule["id"],
                                        codes=[px.line.code] + dx,
                                        message=whose + rule["message"].format(code=px.line.code),
                                        basis=f"{rule['pack']}{f' ({payer})' if payer else ''}: {rule['source']}"))
    return findings


def _triggered(rule: dict, dx: list[str]) -> bool:
    if "needs_any_dx" in rule:
        return not any(in_codeset(d, rule["needs_any_dx"]) for d in dx)
    if "flag_if_only_dx" in rule:
        return all(in_codeset(d, rule["flag_if_only_dx"]) for d in dx)
    if "flag_if_any_dx" in rule:
        return any(in_codeset(d, rule["flag_if_any_dx"]) for d in dx)
    return False


def coverage_articles(claim: Claim) -> list[Finding]:
    """Findings from imported coverage articles that list one of the claim's procedures."""
    release = claim.release("mcd")
    if release is None or not claim.payer_may_be("medicare"):
        return []  # Medicare Coverage Database articles are Medicare's rules
    findings = []
    for px in (p for p in claim.procedures if p.shape):
        code, dx = px.line.code, {d.code: d.shown for d in claim.diagnoses_for(px) if d.row}
        for article in claim.db.query(
            "SELECT DISTINCT a.article_id, a.title FROM policy_procedures p JOIN policy_articles a"
            " ON a.release_id = p.release_id AND a.article_id = p.article_id WHERE p.release_id = ? AND p.code = ?",
            [release["id"], code],
        ):
            findings += _article_findings(claim, release, article, code, dx)
    return findings


def _article_findings(claim, release, article, code, dx: dict[str, str]) -> list[Finding]:
    listed = list(claim.db.query(
        "SELECT code, grp, covered FROM policy_diagnoses WHERE release_id = ? AND article_id = ?",
        [release["id"], article["article_id"]]))
    basis = f"Medicare Coverage Database article {article['article_id']} ({article['title']}), release {release['label']}"
    noncovered = [row for row in listed if not row["covered"] and row["code"] in dx]
    if noncovered:
        return [Finding(severity="error", rule="mcd_noncovered_dx", codes=[code] + [dx[r["code"]] for r in noncovered],
                        message=f"Article {article['article_id']} lists {', '.join(dx[r['code']] for r in noncovered)} "
                                f"as not covering {code}.", basis=basis)]
    covered = [row for row in listed if row["covered"]]
    if covered and not any(row["code"] in dx for row in covered):
        groups = sorted({row["grp"] for row in covered if row["grp"]})
        return [Finding(severity="warning", rule="mcd_no_covered_dx", codes=[code],
                        message=f"None of the claim's diagnoses is on the covered list of article "
                                f"{article['article_id']} \"{article['title']}\" for {code}"
                                + (f" (groups {', '.join(groups)})." if groups else "."), basis=basis)]
    return []


RULES = [coverage_articles, pack_rules]
