// A person's side of business messaging in the page (docs/protocol.md section 15.1, docs/business.md
// sections 2, 4, 6 and 8), as the Python SDK's client.businesses does it: finding a business, checking
// its hosting statement, consents, STOP, answering its buttons, lists and quick replies, and the
// order a payment request names (docs/commerce.md section 4).
import { BUSINESS_APP, DEFAULT_STOP_WORDS, INTERACTIVE, isStop, isStopTap, looksTyped, mismatch, observed, parseStatement, paymentReference, stopWords, tapCloud, typedChoice } from "./cloud.js";

const NUMBER = /^[+0-9][0-9 ().\-]{5,30}$/;
const ORDERS_FRESH_MS = 10_000;

export class Businesses {
  constructor(client) {
    this.client = client;
    this.byAccount = new Map(); // business account id -> its public profile
    this.words = stopWords(DEFAULT_STOP_WORDS);
    this.wordsRead = false;
    this.ordersRead = new Map(); // business account id -> {at, answer}: the last read of one's orders there
  }

  /** Whether `query` names a business (its `biz:` address or a display number) rather than a person. */
  static names(query) {
    return query.startsWith(`${BUSINESS_APP}:`) || NUMBER.test(query);
  }

  /** A business by address or display number: its public profile (404 when there is none). */
  async find(query) {
    const found = await this.client.rest.get(`/v1/businesses/lookup?q=${encodeURIComponent(query)}`);
    if (found.account_id) this.byAccount.set(found.account_id, found);
    return found;
  }

  isBusiness(accountId) {
    const p = this.client.state.people[accountId];
    return Boolean(p && p.app === BUSINESS_APP);
  }

  /** The profile of the business whose account this is (null for a person's). */
  async of(accountId) {
    if (!this.isBusiness(accountId)) return null;
    if (!this.byAccount.has(accountId)) {
      const p = this.client.state.people[accountId];
      if (!p.address) return null;
      await this.find(p.address);
    }
    return this.byAccount.get(accountId) || null;
  }

  /**
   * One's orders with the business whose account this is, newest first (GET /v1/businesses/{id}/orders);
   * one read serves every payment request drawn within ORDERS_FRESH_MS (a history redrawn is one call).
   */
  orders(accountId) {
    const kept = this.ordersRead.get(accountId);
    if (kept && Date.now() - kept.at < ORDERS_FRESH_MS) return kept.answer;
    const answer = this.of(accountId).then(async (business) =>
      business ? (await this.client.rest.get(`/v1/businesses/${encodeURIComponent(business.business_id)}/orders`)).orders || [] : [],
    );
    this.ordersRead.set(accountId, { at: Date.now(), answer });
    answer.catch(() => this.ordersRead.delete(accountId));
    return answer;
  }

  /**
   * The order an `order_details` message asks to pay, as the server keeps it (its `total`, in minor
   * units, is what paying charges, whatever amount the message wrote), as the SDK's
   * `payment_request`; null when the message names no order of one's own at this business.
   */
  async paymentRequest(accountId, cloud) {
    const reference = paymentReference(cloud);
    if (!reference) return null;
    return (await this.orders(accountId)).find((o) => o.order_id === reference) || null;
  }

  /**
   * Who runs the business's endpoint, as the endpoint signed it: {mode, operator, verified, problem}.
   * The statement is checked here against the endpoint device's published ed25519 key (the key people
   * encrypt to), as the SDK's `businesses.hosting` does; `mode` is shown only when it verifies.
   */
  async hosting(business) {
    const shown = business.endpoint;
    const refused = (problem) => ({ mode: null, operator: null, verified: false, problem });
    if (!business.account_id || !shown) return refused("this business has no endpoint yet");
    if (!shown.statement) return refused("the endpoint has not stated how it is hosted");
    const device = (await this.client.devicesOf(business.account_id, true)).find((d) => d.device_id === shown.device_id);
    if (!device) return refused("the statement's device is not one of the business's devices");
    let statement;
    try {
      statement = parseStatement(shown.statement);
      await this.client.device.verifySignature(device.ed25519, shown.statement, shown.signature);
    } catch (err) {
      return refused(`the hosting statement does not verify: ${err.message}`);
    }
    if (statement.business !== business.business_id || statement.device !== shown.device_id) {
      return refused("the hosting statement names another business or device");
    }
    if (statement.mode !== shown.mode) return refused("the hosting statement's mode is not the mode the server shows");
    return { mode: statement.mode, operator: statement.operator, verified: true, problem: "" };
  }

  /** The names of the businesses these consents are about (business id -> name; unknown ones left out). */
  async names(consents) {
    const ids = [...new Set(consents.map((c) => c.business_id))].slice(0, 100);
    const found = await Promise.all(ids.map((id) => this.client.rest.get(`/v1/businesses/${encodeURIComponent(id)}`).catch(() => null)));
    return new Map(found.filter(Boolean).map((b) => [b.business_id, b.name]));
  }

  consents() {
    return this.client.rest.get("/v1/me/business-consents");
  }

  optIn(businessId, scope) {
    return this.client.rest.call("PUT", `/v1/me/business-consents/${encodeURIComponent(businessId)}/${encodeURIComponent(scope)}`, { source: "web" });
  }

  revoke(businessId, scope, source = "web") {
    const path = `/v1/me/business-consents/${encodeURIComponent(businessId)}/${encodeURIComponent(scope)}`;
    return this.client.rest.call("DELETE", `${path}?source=${encodeURIComponent(source)}`);
  }

  /** The deployment's stop words (GET /v1/apps, business_stop_words), read once; the defaults until then. */
  async stopWords() {
    if (!this.wordsRead) {
      const answer = await this.client.rest.get("/v1/apps").catch(() => null);
      if (answer) {
        this.wordsRead = true;
        if (answer.business_stop_words && Object.keys(answer.business_stop_words).length) {
          this.words = stopWords(answer.business_stop_words);
        }
      }
    }
    return this.words;
  }

  /** A STOP typed to a business revokes its marketing (source keyword) before the text goes; true when it did. */
  async stopBeforeSending(accountId, text) {
    if (!this.isBusiness(accountId) || !isStop(text, await this.stopWords())) return false;
    const business = await this.of(accountId);
    if (!business) return false;
    await this.revoke(business.business_id, "marketing", "keyword");
    return true;
  }

  /**
   * Checks a business's decrypted content against what its endpoint declared to the server (the
   * envelope's `biz`, docs/protocol.md section 15.4); on a mismatch, reports it (kinds and template
   * names only, never the content; best effort) and returns why, else null.
   */
  checkDeclared(accountId, biz, content) {
    if (!biz || typeof biz !== "object" || !this.isBusiness(accountId)) return null;
    const declared = { kind: String(biz.kind || "") };
    for (const [k, v] of [["template", biz.template], ["language", biz.lang], ["category", biz.category]]) if (typeof v === "string") declared[k] = v;
    const seen = observed(content.msgtype, content.cloud, Boolean(content.attachment));
    const problem = mismatch(declared, seen) || (biz.wamid !== content.id ? "the content's id is not the declared message id" : null);
    if (!problem) return null;
    const wire = (d) => ({ kind: d.kind, template: d.template, lang: d.language, category: d.category });
    this.of(accountId)
      .then((business) => business && this.client.rest.post(`/v1/businesses/${encodeURIComponent(business.business_id)}/reports`, { reason: "mismatch", declared: wire(declared), observed: wire(seen) }))
      .catch(() => {}); // already reported today, or offline: the warning is shown all the same
    return problem;
  }

  /** Answers `message` (a business's) with `choice` (one of cloud.js's `choices`): its bot gets the tap. */
  async tap(accountId, message, choice) {
    if (isStopTap(choice, await this.stopWords())) {
      const business = await this.of(accountId);
      if (business) await this.revoke(business.business_id, "marketing", "button"); // before the tap goes
    }
    return this.client.sendText(accountId, choice.title, { replyTo: message, cloud: tapCloud(choice), asTyped: true });
  }

  /**
   * The (offer, choice) a typed number picks (docs/protocol.md section 11.3): on an app without
   * `interactive`, when the business's latest message offers choices and I wrote nothing since.
   */
  typed(accountId, text) {
    if (!looksTyped(text) || this.client.app.features.includes(INTERACTIVE) || !this.isBusiness(accountId)) return null;
    const conv = Object.values(this.client.state.convs).find((c) => c.with === accountId && c.kind !== "group");
    if (!conv) return null;
    const recent = conv.messages.filter((m) => !m.notice).slice(-10);
    for (let i = recent.length - 1; i >= 0; i--) {
      const m = recent[i];
      if (m.mine || m.from !== accountId) return null;
      if (m.attachment) return null; // a business's media carries a cloud object, with no choice
      if (m.cloud) {
        const choice = typedChoice(m.cloud, text);
        return choice ? { message: m, choice } : null;
      }
    }
    return null;
  }
}
