"""划拨 and 资产盘点 in a real browser over the demo group (SCENARIOS.md §3)."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import SignedIn, needs_chromium

pytestmark = needs_chromium

GROUP = "福清市国有资产营运投资集团有限公司"
CHENGJIAN = "福清市城市建设投资集团有限公司"
JIAOTOU = "福清市交通投资集团有限公司"


# A form posted as a person would (with the page's CSRF token), but no page offers it.
FORGED_POST = """(url) => {
  const form = Object.assign(document.createElement("form"), {method: "post", action: url});
  const token = document.querySelector("meta[name=csrf-token]").content;
  for (const [name, value] of [["_csrf_token", token], ["idempotency_key", "forged"]]) {
    form.appendChild(Object.assign(document.createElement("input"), {name, value}));
  }
  document.body.appendChild(form);
  form.submit();
}"""


def _option(page: Any, select: str, label: str) -> str:
    """The value of the option of `select` whose text is exactly `label`."""
    value = page.eval_on_selector(
        select,
        "(s, label) => [...s.options].find(o => o.text.trim() === label)?.value",
        label,
    )
    assert value, f"no option {label} in {select}"
    return value


def _settled(page: Any) -> None:
    """Wait until htmx has swapped and settled (its classes gone), so the new form listens."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def _pick(page: Any, select: str, label: str, expect: str) -> None:
    """Choose `label` in one of the table's filters and wait for the table it fetches."""
    _settled(page)
    with page.expect_response(lambda r: expect in r.url) as info:
        page.select_option(select, label=label)
    assert info.value.ok
    page.wait_for_selector(f"#tbl-asset-cards th a[href*='{expect}']")
    _settled(page)


def _group_book(page: Any, base: str) -> str:
    """The group's total book value as the list shows it: every card of the group's subtree."""
    page.goto(f"{base}/ledger/assets")
    group = _option(page, "select[name=f_holder]", GROUP)
    page.goto(f"{base}/ledger/assets?f_holder={group}")
    return page.locator("[data-total=book_value]").inner_text()


def test_a_transfer_requested_by_gf_is_approved_by_another_and_moves_the_cards(
    signed_in: SignedIn, demo_server: str
) -> None:
    page = signed_in("gf")
    before = _group_book(page, demo_server)

    # 城建投's cards in use, picked with the list's filters (htmx swaps the table and totals)
    page.goto(f"{demo_server}/ledger/assets")
    _pick(page, "select[name=f_holder]", CHENGJIAN, "f_holder=")
    _pick(page, "select[name=f_status]", "在用", "f_status=in_use")
    page.get_by_role("link", name="资产编码").click()  # sort by code
    page.wait_for_selector("#tbl-asset-cards th.sorted a[href*='f_status=in_use']")
    _settled(page)
    assert "sort=code" in page.url and "f_status=in_use" in page.url
    codes = [
        r.locator("td").nth(0).inner_text()
        for r in page.locator("#tbl-asset-cards tbody tr").all()
        if r.locator("td").nth(3).inner_text() == CHENGJIAN  # not its subsidiaries'
    ][:2]
    assert len(codes) == 2 and all(c.startswith("CJ-") for c in codes), codes
    shown = int(page.locator("[data-total=cards]").inner_text())
    assert shown == int(page.locator("#tbl-asset-cards .count").inner_text().split()[1])

    page.goto(f"{demo_server}/ledger/assets/transfers")
    page.get_by_role("link", name="发起划拨申请").click()
    page.select_option("select[name=from_holder_id]", label=CHENGJIAN)
    page.select_option("select[name=to_holder_id]", label=JIAOTOU)
    page.fill("textarea[name=codes]", "\n".join(codes))
    page.fill("input[name=note]", "交通场站资产划转")
    with page.expect_navigation():
        page.get_by_role("button", name="提交申请").click()
    assert page.locator(".refusal").count() == 0, page.locator(".refusal").inner_text()
    assert page.locator("[role=status]").inner_text() == "已提交划拨申请，等待他人审批。"
    transfer_url = page.url.split("?")[0]
    assert page.locator("[data-status=requested]").inner_text() == "待审批"
    # the requester is offered no approval, here or in the list
    assert page.get_by_role("button", name="批准").count() == 0
    assert page.locator("[data-awaiting]").inner_text().count("申请人不能审批自己的申请") == 1
    # a forged approval by the requester is refused, and the page says why
    with page.expect_navigation() as forced:
        page.evaluate(FORGED_POST, f"{transfer_url}/approve")
    assert forced.value is not None and forced.value.status == 403
    assert "申请人不能审批自己的划拨申请" in page.locator(".refusal").inner_text()
    assert page.locator("[data-status=requested]").inner_text() == "待审批"
    page.goto(f"{demo_server}/ledger/assets/transfers")
    transfer_id = transfer_url.rsplit("/", 1)[1]
    assert page.locator(f"[data-transfer='{transfer_id}']").count() == 0

    approver = signed_in("admin")
    approver.goto(f"{demo_server}/ledger/assets/transfers")
    row = approver.locator(f"[data-transfer='{transfer_id}']")
    assert CHENGJIAN in row.inner_text() and "gf" in row.inner_text()
    row.get_by_role("button", name="批准").click()
    approver.wait_for_selector("text=已批准并过账：2 张卡片已划入")
    assert approver.locator("[data-status=posted]").inner_text() == "已过账"

    # the cards show their new holder, and their lineage the transfer with who did what
    approver.get_by_role("link", name=codes[0]).click()
    assert approver.locator("[data-holder]").inner_text() == JIAOTOU
    last = approver.locator("ol.timeline li").last
    assert last.get_attribute("data-kind") == "transfer_in"
    assert f"自 {CHENGJIAN}" in last.inner_text()
    assert "申请 gf · 批准 admin · 过账 admin" in last.inner_text()
    assert approver.locator("ul.holders li.current").inner_text().startswith(JIAOTOU)

    # inside the group nothing was gained or lost, to the cent
    assert _group_book(page, demo_server) == before


def test_a_campaign_counted_in_the_browser_reports_and_closes(
    signed_in: SignedIn, demo_server: str
) -> None:
    page = signed_in("gf")
    # what the books say for 交通投's vehicles in use: the list, sorted by code
    page.goto(f"{demo_server}/ledger/assets")
    jt = _option(page, "select[name=f_holder]", JIAOTOU)
    page.goto(f"{demo_server}/ledger/assets?f_holder={jt}&f_category=vehicles&sort=code&size=200")
    rows = page.locator("#tbl-asset-cards tbody tr")
    books = [
        (r.locator("td").nth(0).inner_text(), r.locator("td").nth(9).inner_text(), r)
        for r in rows.all()
        if r.locator("td").nth(3).inner_text() == JIAOTOU
        and r.locator("td").nth(6).inner_text() != "已处置"
    ]
    assert len(books) >= 3
    found, missing = books[:2], books[2:]

    page.goto(f"{demo_server}/ledger/assets/campaigns")
    page.fill("input[name=name]", "交通投车辆盘点")
    page.fill("input[name=as_of]", "2026-11-27")
    page.select_option("select[name=entity_ids]", label=JIAOTOU)
    page.check("input[name=categories][value=vehicles]")
    page.get_by_role("button", name="创建盘点").click()
    page.wait_for_selector("h1:has-text('交通投车辆盘点')")

    for code, _, _ in found:
        page.fill("#count-form input[name=code]", code)
        page.fill("#count-form input[name=location]", "城头镇")
        with page.expect_navigation():
            page.get_by_role("button", name="录入", exact=True).click()
        assert page.locator("[role=status]").inner_text() == "已录入 1 条盘点记录。"
    page.fill("#count-form input[name=code]", "JT-CL-X01")
    page.fill("#count-form input[name=name]", "账外巡查车")
    page.select_option("#count-form select[name=category]", label="车辆")
    page.fill("#count-form input[name=value]", "88,000.50")
    with page.expect_navigation():
        page.get_by_role("button", name="录入", exact=True).click()

    assert page.locator("[data-outcome=matched] strong").inner_text() == "2"
    assert page.locator("[data-outcome=surplus] strong").inner_text() == "1"
    assert page.locator("[data-outcome=shortage] strong").inner_text() == str(len(missing))
    assert "88,000.50" in page.locator("[data-outcome=surplus]").inner_text()
    campaign_url = page.url.split("?")[0].split("#")[0]
    page.goto(f"{campaign_url}?size=200")
    lines = page.locator("#tbl-campaign-lines tbody tr")
    by_code = {r.locator("td").nth(2).inner_text(): r.locator("td") for r in lines.all()}
    assert by_code["JT-CL-X01"].nth(0).inner_text() == "盘盈"
    assert by_code["JT-CL-X01"].nth(6).inner_text() == "88,000.50"
    for code, book, _ in missing:
        assert by_code[code].nth(0).inner_text() == "盘亏"
        assert by_code[code].nth(6).inner_text() == book
    for code, book, _ in found:
        assert by_code[code].nth(0).inner_text() == "相符"
        assert by_code[code].nth(6).inner_text() == book
    # the report filters to one outcome
    page.select_option("#tbl-campaign-lines select[name=f_outcome_label]", label="盘亏")
    page.wait_for_url(re.compile(r"f_outcome_label="))
    assert page.locator("#tbl-campaign-lines tbody tr").count() == len(missing)

    page.get_by_role("link", name="结束盘点并过账…").click()
    assert page.locator("[data-outcome=shortage]").inner_text() == str(len(missing))
    page.get_by_role("button", name="确认结束并过账").click()
    page.wait_for_selector("text=盘点已结束")
    assert page.locator("[data-status]").first.inner_text() == "已结束"
    assert page.locator("#count-form").count() == 0  # locked: no more counting
    assert page.get_by_role("link", name="结束盘点并过账…").count() == 0

    # the shortages are disposed, the surplus is a card of 交通投 at its value
    page.goto(f"{demo_server}/ledger/assets?f_holder={jt}&f_category=vehicles&q=JT-CL-X01")
    row = page.locator("#tbl-asset-cards tbody tr").first
    assert row.locator("td").nth(4).inner_text() == "盘盈"
    assert row.locator("td").nth(9).inner_text() == "88,000.50"
    page.goto(f"{demo_server}/ledger/assets?f_holder={jt}&q={missing[0][0]}")
    assert page.locator("#tbl-asset-cards tbody tr td").nth(6).inner_text() == "已处置"
