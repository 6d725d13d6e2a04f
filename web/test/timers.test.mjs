import assert from "node:assert/strict";
import { test } from "node:test";
import { expiry, unexpired } from "../src/timers.js";

test("a message goes at the shorter of the timer and its ttl", () => {
  assert.equal(expiry(1000, 0, undefined), null);
  assert.equal(expiry(1000, 86400, undefined), 1000 + 86400000);
  assert.equal(expiry(1000, 86400, 60), 61000);
  assert.equal(expiry(1000, 0, 60), 61000);
});

test("expired messages are dropped, the others kept in order", () => {
  const messages = [{ id: "a", expiresAt: 10 }, { id: "b" }, { id: "c", expiresAt: 30 }];
  assert.deepEqual(unexpired(messages, 20), { kept: [messages[1], messages[2]], changed: true });
  assert.deepEqual(unexpired(messages, 5), { kept: messages, changed: false });
});
