"""Save a 1366×768 PNG of every page in `web.registry.SHOTS` into docs/screenshots/.

A script beside the benchmarks rather than a `stateasset` command: it needs Playwright (the `dev`
extra) and a browser, which the installed service has no use for. It loads the demo group into a
throwaway embedded PostgreSQL in a temporary folder, serves the app on a loopback port, signs in as
each shot's user (group finance by default) and photographs the page. Run it with
`make screenshots`; it refuses to save a page that asked anything of another machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from stateasset.demo import DEMO_PASSWORD
from stateasset.web.browser import VIEWPORT, Offline, launch, serve_demo, sign_in
from stateasset.web.registry import SHOTS

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # A short path: the embedded server's Unix socket must stay under 107 bytes.
    data = Path(tempfile.mkdtemp(prefix="sa-shots-"))
    for name in ("DATABASE_URL", "STATEASSET_APP_DATABASE_URL", "STATEASSET_DATABASE_URL"):
        os.environ.pop(name, None)
    failed = False
    try:
        with (
            serve_demo({"STATEASSET_DATA_DIR": str(data)}, data / "server.log") as base,
            sync_playwright() as playwright,
        ):
            browser = launch(playwright)
            for shot in SHOTS:
                context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
                offline = Offline(context)
                page = context.new_page()
                if shot.username:
                    sign_in(page, base, shot.username, DEMO_PASSWORD)
                page.goto(base + shot.path)
                if shot.follow:
                    page.get_by_role("link", name=shot.follow, exact=True).first.click()
                    page.wait_for_load_state()
                page.wait_for_load_state("networkidle")
                if offline.leaks:
                    print(f"{shot.name}: requests left the machine: {offline.leaks}")
                    failed = True
                else:
                    page.screenshot(path=args.out / f"{shot.name}.png")
                    print(f"{shot.name}: {shot.path}")
                context.close()
            browser.close()
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
