// The page's business content rules agree with the Python SDK's: the shared vectors
// (tests/unit/proto/cloud/vectors.json, also checked by tests/unit/proto/cloud/test_vectors.py).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { DEFAULT_STOP_WORDS, choices, orderUpdate, paymentReference, priceShown, priceText, shownProducts, isStop, isStopTap, mismatch, numbered, observed, parseStatement, safeUrl, stopWords, tapCloud, typedChoice } from "../src/cloud.js";

const VECTORS = JSON.parse(readFileSync(new URL("../../tests/unit/proto/cloud/vectors.json", import.meta.url), "utf8"));
const asChoice = ([id, kind, title, description]) => ({ id, kind, title, description });

for (const c of VECTORS.content) {
  test(`content: ${c.name}`, () => {
    assert.deepEqual(choices(c.cloud), c.choices.map(asChoice));
    assert.equal(numbered(c.cloud, c.body), c.numbered);
    for (const [typed, expected] of Object.entries(c.typed)) {
      const got = typedChoice(c.cloud, typed);
      assert.equal(got ? got.id : null, expected, typed);
    }
  });
}

test("taps and stop words", () => {
  for (const tap of VECTORS.taps) assert.deepEqual(tapCloud(asChoice(tap.choice)), tap.cloud);
  const words = stopWords(DEFAULT_STOP_WORDS);
  for (const [text, expected] of Object.entries(VECTORS.stop)) assert.equal(isStop(text, words), expected, text);
  assert.ok(isStopTap(asChoice(["x", "button", "Stop  Promotions", null]), words));
  assert.ok(!isStopTap(asChoice(["x", "button_reply", "STOP", null]), words));
});

test("only http(s) URLs are links", () => {
  assert.equal(safeUrl("https://velo.example/avis"), "https://velo.example/avis");
  for (const bad of ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "data:text/html,x", "/relative", "vbscript:x", 42]) {
    assert.equal(safeUrl(bad), null, String(bad));
  }
});

test("a hosting statement is exactly its canonical JSON", () => {
  const text = '{"business":"bz_1","device":"d1","issued_at":1700000000000,"mode":"self_run","operator":"Opérateur"}';
  assert.equal(parseStatement(text).mode, "self_run");
  assert.throws(() => parseStatement(text.replace('"mode":"self_run"', '"mode":"other"')));
  assert.throws(() => parseStatement(text.replace("{", "{ ")));
  assert.throws(() => parseStatement('{"device":"d1","business":"bz_1","issued_at":1,"mode":"hosted","operator":"o"}'));
});

for (const c of VECTORS.mismatch) {
  test(`mismatch: ${c.problem || c.declared.kind}`, () => {
    const seen = observed(c.msgtype, c.cloud, c.attachment);
    assert.deepEqual(seen, c.observed);
    assert.equal(mismatch(c.declared, seen), c.problem);
  });
}

test("commerce: products, order updates and prices as the SDK reads them", () => {
  for (const c of VECTORS.commerce) {
    const shown = shownProducts(c.cloud).map((p) => [p.retailer_id, p.name, p.price, p.currency, p.image, p.available, priceText(p.price, p.currency)]);
    assert.deepEqual(shown, c.products, c.name);
    const update = orderUpdate(c.cloud);
    assert.deepEqual(update && [update.order_id, update.status, update.description], c.order_update, c.name);
  }
  for (const [minor, currency, text] of VECTORS.prices) assert.equal(priceText(minor, currency), text);
});

test("commerce: a payment request's order; prices shown through Intl from the exact decimal", () => {
  const request = VECTORS.commerce.find((c) => c.name === "a payment request").cloud;
  assert.equal(paymentReference(request), "ord-2");
  assert.equal(paymentReference(VECTORS.commerce[0].cloud), null);
  assert.equal(priceShown(129999, "EUR", "en-US"), "€1,299.99");
  assert.equal(priceShown(500, "JPY", "en-US"), "¥500");
  assert.equal(priceShown(1234, "KWD", "en-US"), "KWD\u00a01.234");
  assert.equal(priceShown(900719925474099, "USD", "en-US"), "$9,007,199,254,740.99"); // no float rounding
  assert.equal(priceShown(1250, "not a code", "en-US"), "12.50 not a code");
});
