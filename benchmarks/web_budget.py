"""The web apps' budgets (issue 12), measured, never asserted: ``python -m benchmarks.web_budget``.

1. First load: the compressed (gzip -9, as the server sends them) size of the page's JavaScript and
   CSS, besides the WebAssembly; budget 500 KB.
2. A message page to page: two people on the photo web app in one headless Chromium (Debian's), the
   server in this process on SQLite; the time from pressing Enter in one page to the text appearing
   in the other (both read ``Date.now()`` of the same browser); budget 100 ms at p99.

Prints a table and, as the last line, one JSON object. Needs the ``playwright`` package and
``/usr/bin/chromium`` (or ``PASSERELLE_CHROMIUM``) for part 2, which is skipped otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import statistics
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from passerelle.config import load_settings
from passerelle.server.runner import running_server

JS_CSS_BUDGET = 500 * 1024
P99_BUDGET_MS = 100.0
CHROMIUM = os.environ.get("PASSERELLE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PW = "correct horse battery"
OBSERVE = """() => {
  window.__seen = {};
  new MutationObserver(() => {
    for (const b of document.querySelectorAll('#messages li.theirs .body')) {
      if (!(b.textContent in window.__seen)) window.__seen[b.textContent] = Date.now();
    }
  }).observe(document.body, {childList: true, subtree: true});
}"""


def sizes() -> dict[str, int]:
    folder = resources.files("passerelle").joinpath("web")
    out: dict[str, int] = {}
    for name in ("app.js", "crypto-worker.js", "app.css", "index.html", "olm.wasm"):
        data = folder.joinpath(name).read_bytes()
        out[name] = len(data)
        out[name + ".gz"] = len(gzip.compress(data, 9, mtime=0))
    scripts = out["app.js.gz"] + out["crypto-worker.js.gz"]
    out["first_load_js_css_gz"] = scripts + out["app.css.gz"] + out["index.html.gz"]
    return out


async def page_to_page(messages: int) -> dict[str, Any]:
    from playwright.async_api import Page, async_playwright

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(None, data_dir=Path(tmp), janitor_interval_s=3600.0)
        async with running_server(settings) as server, async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)

            async def person(handle: str) -> Page:
                context = await browser.new_context(bypass_csp=True)
                page = await context.new_page()
                await page.goto(f"{server.url}/app/photo/")
                await page.wait_for_selector("body[data-ready=true]")
                await page.get_by_label("Handle", exact=True).fill(handle)
                await page.get_by_label("Password (8 characters or more)").fill(PW)
                await page.get_by_role("button", name="Create account").click()
                await page.wait_for_selector("#status[data-state=online]")
                return page

            alice, bob = await person("alice"), await person("bob")
            await alice.get_by_label("Find a person by address", exact=False).fill("photo:bob")
            await alice.get_by_role("button", name="Find", exact=True).click()
            box = alice.get_by_label("Message", exact=True)
            await box.fill("warm-up")
            await box.press("Enter")
            await bob.locator("#convs button").first.click()
            await bob.locator("#messages li .body", has_text="warm-up").wait_for()
            await bob.evaluate(OBSERVE)
            latencies: list[float] = []
            for i in range(messages):
                text = f"message {i}"
                await box.fill(text)
                start = await alice.evaluate("() => Date.now()")
                await box.press("Enter")
                await bob.locator("#messages li .body", has_text=text).first.wait_for()
                seen = await bob.evaluate("t => window.__seen[t]", text)
                latencies.append(float(seen - start))
            await browser.close()
    latencies.sort()
    return {
        "messages": messages,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max_ms": latencies[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100)
    args = parser.parse_args()
    result: dict[str, Any] = {"sizes": sizes()}
    s = result["sizes"]
    print(
        f"first load JS+CSS+HTML, gzip: {s['first_load_js_css_gz'] / 1024:.1f} KB (budget {JS_CSS_BUDGET // 1024} KB)"
    )
    print(
        f"olm.wasm: {s['olm.wasm'] / 1024:.1f} KB, gzip {s['olm.wasm.gz'] / 1024:.1f} KB (not in the budget)"
    )
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("page to page: skipped (no playwright package)")
    else:
        if Path(CHROMIUM).is_file():
            latency = asyncio.run(page_to_page(args.messages))
            result["page_to_page"] = latency
            print(
                f"page to page over {latency['messages']} messages: p50 {latency['p50_ms']:.0f} ms, "
                f"p99 {latency['p99_ms']:.0f} ms (budget {P99_BUDGET_MS:.0f} ms), max {latency['max_ms']:.0f} ms"
            )
        else:
            print(f"page to page: skipped (no Chromium at {CHROMIUM})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
