"""`python -m archive_verify <package.zip> --ca ca.pem [--json]`: exit 0 intact, 1 damaged, 2 unusable."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from archive_verify.verify import verify_package

MESSAGES_VI = {
    "file_changed": "Tệp đã bị thay đổi",
    "file_missing": "Thiếu tệp",
    "file_unlisted": "Tệp không có trong bảng kê",
    "bag_invalid": "Gói BagIt không hợp lệ",
    "chain_broken": "Chuỗi sự kiện bị đứt",
    "chain_head_mismatch": "Đầu chuỗi sự kiện không khớp",
    "seal_missing": "Gói chưa được niêm phong",
    "seal_invalid": "Dấu niêm phong không hợp lệ",
    "seal_untrusted": "Dấu niêm phong không do CA tin cậy cấp",
    "seal_manifest_mismatch": "Bảng kê niêm phong không khớp",
    "timestamp_invalid": "Dấu thời gian không hợp lệ",
    "unsafe_path": "Tên tệp không an toàn",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="archive_verify", description="Kiểm tra gói hồ sơ đại hội đã niêm phong.")
    parser.add_argument("package", type=Path, help="the package zip (or an extracted directory)")
    parser.add_argument("--ca", type=Path, required=True, action="append", help="trusted CA certificate (PEM)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        cas = [path.read_bytes() for path in args.ca]
        report = verify_package(args.package, cas)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        title = report.record.get("congress", {}).get("title", "")
        print(f"{args.package.name}: {title}")
        print(f"  files checked: {report.files_checked} ({report.bytes_checked:,} bytes), events: {report.events}")
        print(f"  chain head: {report.chain_head}")
        if report.seal_signer:
            print(f"  sealed by: {report.seal_signer} at {report.sealed_at}"
                  + (f", timestamp {report.timestamp_at}" if report.timestamp_at else ""))
        if report.intact:
            print("INTACT: nguyên vẹn — every file, the event chain and the seal check out.")
        else:
            print(f"DAMAGED: {len(report.problems)} problem(s)")
            for p in report.problems:
                print(f"  - [{p.code}] {p.path}: {p.detail} ({MESSAGES_VI.get(p.code, p.code)})")
    return 0 if report.intact else 1


if __name__ == "__main__":
    sys.exit(main())
