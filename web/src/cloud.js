// A business's content inside the encryption (docs/protocol.md sections 11.3 and 15.4, docs/business.md
// sections 6 and 8): the same rules as the Python SDK's proto/cloud/content.py and
// domain/business/consent.py, for the pages. Pure functions, no DOM, no I/O; the shared test vectors
// (tests/unit/proto/cloud/vectors.json) are checked against both implementations.

export const BUSINESS_APP = "biz";
export const INTERACTIVE = "interactive";
export const NUMBER_PROMPT = "Reply with the number of your choice.";
export const MAX_TYPED_CHOICE = 20;
export const STOP_PROMOTIONS = "stop promotions";
export const DEFAULT_STOP_WORDS = {
  en: ["STOP", "UNSUBSCRIBE", "STOP ALL"],
  fr: ["ARRET", "STOP", "DESABONNER"],
  es: ["BAJA", "PARAR"],
  de: ["STOPP", "ABMELDEN"],
};
const MAX_CLOUD_CHARS = 64 * 1024;

const obj = (v) => (v && typeof v === "object" && !Array.isArray(v) ? v : {});
const list = (v) => (Array.isArray(v) ? v : []);
const str = (v) => (v === undefined || v === null ? "" : String(v));

/** The `cloud` member of a received content as kept: a plain object with a string `type`, bounded. */
export function keptCloud(cloud) {
  if (!cloud || typeof cloud !== "object" || Array.isArray(cloud) || typeof cloud.type !== "string") return null;
  try {
    return JSON.stringify(cloud).length <= MAX_CLOUD_CHARS ? JSON.parse(JSON.stringify(cloud)) : null;
  } catch {
    return null;
  }
}

/**
 * What a person may tap in a business's message, in order: [{id, kind, title, description}], kind
 * `button_reply` / `list_reply`, or `button` for a template's quick reply (its id is its payload).
 * Later duplicates of an id replace the earlier one's title but keep its place, as in Python's dict.
 */
export function choices(cloud) {
  const found = new Map();
  const put = (id, kind, title, description) => found.set(String(id), { id: String(id), kind, title: str(title), description });
  const c = obj(cloud);
  if (c.type === "template") {
    for (const comp of list(obj(c.template).components)) {
      const k = obj(comp);
      if (k.button === "QUICK_REPLY" && k.payload) put(k.payload, "button", k.text, null);
    }
  } else if (c.type === "interactive") {
    const item = obj(c.interactive);
    const action = obj(item.action);
    if (item.type === "button") {
      for (const b of list(action.buttons)) {
        const reply = obj(obj(b).reply);
        if (reply.id) put(reply.id, "button_reply", reply.title, null);
      }
    } else if (item.type === "list") {
      for (const s of list(action.sections)) {
        for (const row of list(obj(s).rows)) {
          const r = obj(row);
          if (r.id) put(r.id, "list_reply", r.title, r.description === undefined || r.description === null ? null : str(r.description));
        }
      }
    }
  }
  return [...found.values()];
}

/** The `cloud` object of a person's tap on `choice` (one of `choices`). */
export function tapCloud(choice) {
  if (choice.kind === "button") return { type: "button", button: { payload: choice.id, text: choice.title } };
  const reply = { id: choice.id, title: choice.title };
  if (choice.description !== null && choice.description !== undefined) reply.description = choice.description;
  return { type: "interactive", interactive: { type: choice.kind, [choice.kind]: reply } };
}

/**
 * The numbered text of a business's buttons, list or quick replies, for an app without
 * `interactive` (section 11.3); null when the content offers no choice. `body` is the content's text
 * (a template's rendered lines).
 */
export function numbered(cloud, body) {
  const found = choices(cloud);
  if (found.length === 0) return null;
  const lines = [];
  const interactive = obj(cloud).type === "interactive";
  const item = obj(obj(cloud).interactive);
  if (interactive) {
    for (const part of ["header", "body"]) {
      const text = obj(item[part]).text;
      if (text) lines.push(str(text));
    }
  } else {
    lines.push(...str(body).split(/\r\n|\r|\n/).filter((line) => !line.startsWith("[")));
  }
  found.forEach((c, i) => lines.push(`${i + 1}. ${c.title}` + (c.description ? ` — ${c.description}` : "")));
  if (interactive && obj(item.footer).text) lines.push(str(item.footer.text));
  lines.push(NUMBER_PROMPT);
  return lines.join("\n");
}

/** The choice a person typed as its number (" 2 " → the second), or null. */
export function typedChoice(cloud, text) {
  const typed = str(text).trim().replace(/[.)]+$/, "");
  if (!/^[0-9]{1,2}$/.test(typed)) return null;
  const found = choices(cloud);
  const n = Number(typed);
  return n >= 1 && n <= Math.min(found.length, MAX_TYPED_CHOICE) ? found[n - 1] : null;
}

/** Whether `text` may be a typed choice at all (the SDK's quick test before it reads the history). */
export function looksTyped(text) {
  const t = str(text);
  return t.length <= 4 && t.trim() !== "" && /[0-9]/.test(t.trim()[0]);
}

/** Upper case, accents removed, inner spaces collapsed, trailing punctuation dropped ("  Arrêt ! " → "ARRET"). */
export function fold(text) {
  const bare = str(text).normalize("NFKD").replace(/\p{M}/gu, "");
  const words = bare.toUpperCase().split(/\s+/).filter(Boolean);
  return words.join(" ").replace(/[.!?¡¿ ]+$/u, "").trim();
}

/** Every language's stop words together, folded. */
export function stopWords(words) {
  const out = new Set();
  for (const perLanguage of Object.values(obj(words))) for (const w of list(perLanguage)) if (fold(w)) out.add(fold(w));
  return out;
}

/** Whether a whole message is a stop word. */
export function isStop(text, words) {
  return words.has(fold(text));
}

/** Whether tapping this choice is a STOP (a template's "Stop promotions" quick reply, or a stop word). */
export function isStopTap(choice, words) {
  return choice.kind === "button" && (choice.title.split(/\s+/).filter(Boolean).join(" ").toLowerCase() === STOP_PROMOTIONS || isStop(choice.title, words));
}

/** `url` when it is an absolute http(s) URL (what a page may link to), else null. */
export function safeUrl(url) {
  if (typeof url !== "string" || url.length > 2048) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

const STATEMENT_FIELDS = ["business", "device", "issued_at", "mode", "operator"];

/**
 * The hosting statement `text` is (docs/business.md section 4: the canonical JSON of exactly
 * {business, device, issued_at, mode, operator}), or an Error saying what is wrong.
 */
export function parseStatement(text) {
  if (typeof text !== "string" || text.length > 1024) throw new Error("statement: at most 1024 characters");
  let raw;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error("statement: canonical JSON");
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw) || Object.keys(raw).sort().join() !== STATEMENT_FIELDS.join()) {
    throw new Error(`statement: exactly the members ${STATEMENT_FIELDS.join(", ")}`);
  }
  if (!["business", "device", "mode", "operator"].every((k) => typeof raw[k] === "string") || !Number.isSafeInteger(raw.issued_at)) {
    throw new Error("statement: issued_at is an integer, the other members strings");
  }
  if (!["hosted", "self_run"].includes(raw.mode)) throw new Error("statement: mode is hosted or self_run");
  const canonical = "{" + STATEMENT_FIELDS.map((k) => JSON.stringify(k) + ":" + JSON.stringify(raw[k])).join(",") + "}";
  if (canonical !== text) throw new Error("statement: canonical JSON (sorted keys, no spaces), as signed");
  return raw;
}

/** The kinds an endpoint may declare (domain/business/sends.py KINDS). */
const DECLARED_KINDS = new Set(["text", "interactive", "template", "image", "video", "audio", "document", "sticker", "location", "contacts", "reaction", "status"]);
const MEDIA_MSGTYPES = new Set(["image", "video", "file", "voice"]);
const MEDIA_KINDS = new Set(["image", "video", "audio", "document", "sticker"]);
const short = (v) => (typeof v === "string" ? v.slice(0, 512) : null);

/** What a business's decrypted content says it is: {kind, template?, language?, category?} (section 15.4). */
export function observed(msgtype, cloud, hasAttachment) {
  if (msgtype === "reaction") return { kind: "reaction" };
  const kind = cloud && typeof cloud === "object" ? cloud.type : null;
  if (typeof kind !== "string" || !DECLARED_KINDS.has(kind)) {
    return { kind: hasAttachment || MEDIA_MSGTYPES.has(msgtype) ? "media" : "text" };
  }
  if (kind !== "template") return { kind };
  const t = obj(cloud.template);
  const out = { kind };
  for (const [k, v] of [["template", t.name], ["language", t.language], ["category", t.category]]) if (short(v) !== null) out[k] = short(v);
  return out;
}

/** Why the content does not match what its endpoint declared to the server (null when it does). */
export function mismatch(declared, seen) {
  if (declared.kind === "status") return "a read mark or typing indicator carried a message";
  if (declared.kind !== seen.kind && !(MEDIA_KINDS.has(declared.kind) && seen.kind === "media")) {
    return `declared ${declared.kind}, the content is ${seen.kind}`;
  }
  if (declared.kind !== "template") return null;
  if ((declared.template ?? null) !== (seen.template ?? null) || (declared.language ?? null) !== (seen.language ?? null)) {
    return "the content is another template than the one declared";
  }
  if (declared.category != null && seen.category != null && declared.category !== seen.category) {
    return `the template's category is ${declared.category}, the content says ${seen.category}`;
  }
  return null;
}

// Commerce inside the encryption (docs/commerce.md section 2): the endpoint adds what the person sees
// of each product to the bot's `interactive` object, `cloud.products = [{retailer_id, name, price,
// currency, image?, available}]`, prices in integer minor units. The same rules as the SDK's
// sdk/commerce.py (`shown_products`, `price_text`, `order_update`); money is never a float here.

/** Minor-unit digits per currency (domain/commerce/money.py MINOR_DIGITS); 2 for any other. */
const MINOR_DIGITS = new Map([
  ..."AED AUD BRL CAD CHF CNY CZK DKK EGP EUR GBP HKD HUF IDR ILS INR MAD MXN MYR NGN NOK NZD PHP PLN RON SAR SEK SGD THB TRY TWD UAH USD XOF ZAR".split(" ").map((c) => [c, 2]),
  ..."CLP ISK JPY KRW VND XAF".split(" ").map((c) => [c, 0]),
  ..."BHD JOD KWD OMR TND".split(" ").map((c) => [c, 3]),
]);
export const COMMERCE = new Set(["product", "product_list", "catalog_message", "order_details", "order_status"]);

/** `minor` (a safe integer) as an exact decimal string in major units: 1250, 2 → "12.50". */
export function decimalText(minor, digits) {
  const negative = minor < 0;
  const s = String(Math.abs(minor)).padStart(digits + 1, "0");
  const whole = digits ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s;
  return negative ? `-${whole}` : whole;
}

/** `1250, "EUR"` → `"12.50 EUR"`, exactly (the SDK's price_text and the text fallback's prices). */
export function priceText(minor, currency) {
  const code = str(currency);
  return `${decimalText(minor, MINOR_DIGITS.get(code) ?? 2)} ${code}`;
}

/**
 * The price for display in `locale` (Intl, from the exact decimal string, never a float); the
 * exact `priceText` when Intl does not know the currency.
 */
export function priceShown(minor, currency, locale = undefined) {
  const code = str(currency);
  const digits = MINOR_DIGITS.get(code) ?? 2;
  try {
    const format = new Intl.NumberFormat(locale, { style: "currency", currency: code, minimumFractionDigits: digits, maximumFractionDigits: digits });
    return format.format(decimalText(minor, digits));
  } catch {
    return priceText(minor, code);
  }
}

/** The products a business's `product` / `product_list` / `catalog_message` shows (the SDK's shown_products). */
export function shownProducts(cloud) {
  const found = [];
  for (const raw of list(obj(cloud).products)) {
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) continue;
    const p = raw;
    if (!("retailer_id" in p) || !("name" in p) || !("currency" in p) || !Number.isSafeInteger(p.price)) continue;
    found.push({
      retailer_id: str(p.retailer_id),
      name: str(p.name),
      price: p.price,
      currency: str(p.currency),
      image: p.image ? str(p.image) : null,
      available: "available" in p ? Boolean(p.available) : true,
    });
  }
  return found;
}

function commerceItem(cloud, kind) {
  const c = obj(cloud);
  const item = obj(c.interactive);
  return c.type === "interactive" && item.type === kind ? item : {};
}

/** An `order_status` message's order, status and description (the SDK's order_update), or null. */
export function orderUpdate(cloud) {
  const params = obj(obj(commerceItem(cloud, "order_status").action).parameters);
  const order = obj(params.order);
  if (!params.reference_id || !order.status) return null;
  return { order_id: str(params.reference_id), status: str(order.status), description: str(order.description || "") };
}

/** The order an `order_details` message asks to pay (its `reference_id`), or null. */
export function paymentReference(cloud) {
  const reference = obj(obj(commerceItem(cloud, "order_details").action).parameters).reference_id;
  return reference ? str(reference) : null;
}
