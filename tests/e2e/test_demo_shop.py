"""``passerelle demo shop``: the example shop bot (``examples/shop_bot.py``, written with
``passerelle.bot``) sells on the three apps through a self-run endpoint, and the server keeps no
plaintext of the conversations."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from passerelle.cli.chat.view import make_console
from passerelle.cli.demo.command import run_demo
from tests.conftest import assert_absent

SUMMARY = re.compile(r"^✓ none of the (\d+) plaintexts \((\d+) messages\) appears in the server's")


@pytest.mark.timeout(90)
async def test_the_shop_demo_sells_on_three_apps_and_the_server_keeps_no_plaintext(tmp_path: Path) -> None:
    out = io.StringIO()
    status = await run_demo(tmp_path / "demo", console=make_console(file=out), scene="shop")
    text = out.getvalue()
    assert status == 0, text
    lines = text.splitlines()
    assert any(
        re.match(r"^✓ Vélo Paris's catalog \d{15}: City bike 12\.50 EUR, Bell 3\.00 EUR", x) for x in lines
    )
    # photo shows the products as text; the others pay; carol is declined and handed off.
    assert "Vélo Paris → [photo] alice: 🛍 City bike — 12.50 EUR" in lines
    priced = [x for x in lines if "prices of 0.01 EUR: the server prices it from the catalog" in x]
    assert [x.split("catalog, ")[1].split(" (")[0] for x in priced] == ["15.50 EUR", "3.00 EUR"]
    assert any(x.startswith("   bob pays with the sandbox's card 4242424242424242: succeeded") for x in lines)
    assert any(x.startswith("   carol pays with the sandbox's card 4000000000000002: failed") for x in lines)
    thanks = [x for x in lines if x.startswith("Vélo Paris → [chat] bob: Paid, thank you!")]
    assert len(thanks) == 1
    assert any(x.startswith("Vélo Paris → [social] carol: Your card was declined.") for x in lines)
    [handoff] = [x for x in lines if x.startswith("   the operator's admin API")]
    assert "open, “Carol Bernard asks for a person. Order " in handoff and "3.00 EUR, not paid.”" in handoff
    assert any(re.match(r"^Vélo Paris → \[chat\] bob: 📦 Order \d+: shipped", x) for x in lines)
    assert any(
        re.match(r"^   bob's order history, from the server: \d+ shipped \(payments: succeeded\)", x)
        for x in lines
    )
    [summary] = [m for x in lines if (m := SUMMARY.match(x))]
    assert int(summary[1]) == int(summary[2]) >= 8

    root = tmp_path / "demo"
    server_files = [p for p in (root / "server").rglob("*") if p.is_file()]
    assert any(p.name == "passerelle.db" for p in server_files)
    said = ["I would like to talk to a person, please", "Paid, thank you!", "Colissimo 8X123"]
    assert_absent(said, [*server_files, root / "server.log"])
