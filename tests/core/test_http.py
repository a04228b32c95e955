"""The one way a workbook leaves the app: a Chinese name survives, an ASCII name is always there."""

from __future__ import annotations

from urllib.parse import unquote

from stateasset.core.http import XLSX_MEDIA_TYPE, xlsx_download


def test_a_chinese_file_name_goes_out_percent_encoded_beside_an_ascii_one() -> None:
    response = xlsx_download(b"PK", "合并报表-2026-Q3.xlsx")
    disposition = response.headers["Content-Disposition"]
    assert disposition == (
        'attachment; filename="2026-Q3.xlsx"; '
        "filename*=UTF-8''%E5%90%88%E5%B9%B6%E6%8A%A5%E8%A1%A8-2026-Q3.xlsx"
    )
    assert unquote(disposition.split("''", 1)[1]) == "合并报表-2026-Q3.xlsx"
    assert response.media_type == XLSX_MEDIA_TYPE
    assert response.content == b"PK"


def test_an_ascii_name_is_kept_and_quotes_cannot_break_the_header() -> None:
    plain = xlsx_download(b"", "consolidation-2026-Q3.xlsx").headers["Content-Disposition"]
    assert plain.startswith('attachment; filename="consolidation-2026-Q3.xlsx"; ')
    odd = xlsx_download(b"", 'a"b;c.xlsx').headers["Content-Disposition"]
    assert odd.startswith('attachment; filename="a_b_c.xlsx"; ')
    assert "filename*=UTF-8''a%22b%3Bc.xlsx" in odd
