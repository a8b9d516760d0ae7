"""Build codedata/data/hcpcs_2024_07.tsv.xz, the bundled HCPCS Level II default, from the July 2024 CMS
release tables in ../shared/data/hcpcs/2024 (descriptions + administrative fields).

Run: python scripts/build_hcpcs_default.py [SHARED_DATA_DIR]
"""
from __future__ import annotations

import csv
import io
import lzma
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codedata.importers.hcpcs import write_compact  # noqa: E402


def read_csv_xz(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(lzma.decompress(path.read_bytes()).decode("utf-8"))))


def compact_codes(descriptions: list[dict], admin: list[dict]) -> list[dict]:
    """Join the long/short description rows with the administrative fields, one dict per code."""
    codes: dict[str, dict] = {}
    for row in descriptions:
        entry = codes.setdefault(row["hcpcs_code"], {"code": row["hcpcs_code"]})
        key = "long_description" if row["hcpcs_desc_type"] == "Long" else "short_description"
        entry[key] = " ".join(row["hcpcs_description"].split())
    for row in admin:
        entry = codes.get(row["hcpcs_code"])
        if entry is not None:
            entry.update(added=row["date_added"], action_effective=row["date_action"],
                         terminated=row["date_term"], action=row["action"], coverage=row["cov"],
                         betos=row["betos"], xref=row["xref"])
    return sorted(codes.values(), key=lambda c: c["code"])


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    folder = shared / "hcpcs" / "2024"
    codes = compact_codes(read_csv_xz(folder / "hcpcs_2024_07_descriptions.csv.xz"),
                          read_csv_xz(folder / "hcpcs_2024_07_admin_fields.csv.xz"))
    text = write_compact(codes, "2024-07", "2024-07-01",
                         "CMS HCPCS Level II quarterly update, July 2024 (public domain)")
    target = ROOT / "codedata" / "data" / "hcpcs_2024_07.tsv.xz"
    target.write_bytes(lzma.compress(text.encode("utf-8"), preset=9))
    print(f"wrote {target} ({len(codes)} codes, {target.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
