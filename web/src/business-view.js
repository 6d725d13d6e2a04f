// How the page shows a business: its profile (verified flag, hosting mode checked on the device, the
// person's marketing consent) and its messages' buttons, lists, quick replies and links. Business
// content is the business's to choose, so every string goes in as text (never HTML) and only http(s)
// URLs become links, opened in a new tab without access to this page (rel=noopener noreferrer).
// Commerce (docs/commerce.md): products with their prices, product lists by section, the catalog,
// a payment request with the amount the server's order holds, and order status news.
import { COMMERCE, choices, orderUpdate, paymentReference, priceShown, priceText, safeUrl, shownProducts } from "./cloud.js";

const obj = (v) => (v && typeof v === "object" && !Array.isArray(v) ? v : {});
const list = (v) => (Array.isArray(v) ? v : []);
const str = (v) => (v === undefined || v === null ? "" : String(v));

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== "") node.append(c);
  return node;
}

/** A link to a business's URL when it is http(s); otherwise its text, not a link. */
export function businessLink(url, label) {
  const href = safeUrl(url);
  if (!href) return el("span", { class: "not-link" }, `${str(label)}${label ? ": " : ""}${str(url)}`);
  return el("a", { href, target: "_blank", rel: "noopener noreferrer nofollow", class: "cta" }, str(label) || href);
}

/**
 * The rich rendering of a business message's `cloud` for an app with buttons: [nodes] to show in
 * place of its plain text, or null (the plain text is shown). `tap(choice)` answers a choice;
 * `toPay(cloud)` is a promise of the server's order a payment request names (or null).
 */
export function renderCloud(cloud, tap, disabled = false, toPay = async () => null) {
  const c = obj(cloud);
  if (c.type === "interactive" && COMMERCE.has(obj(c.interactive).type)) return renderCommerce(c, toPay);
  if (c.type === "interactive") return renderInteractive(c, tap, disabled);
  if (c.type === "template") return renderTemplate(c, tap, disabled);
  return null;
}

function button(choice, tap, disabled) {
  return el("button", { type: "button", class: "choice", disabled, onclick: () => tap(choice) }, choice.title);
}

function renderInteractive(cloud, tap, disabled) {
  const item = obj(cloud.interactive);
  const action = obj(item.action);
  const header = obj(item.header);
  const parts = [];
  if (header.text) parts.push(el("strong", { class: "biz-header" }, str(header.text)));
  else if (header.type && header.type !== "text") parts.push(el("span", { class: "biz-media" }, `[${str(header.type)}]`));
  parts.push(el("span", { class: "body" }, str(obj(item.body).text)));
  if (obj(item.footer).text) parts.push(el("small", { class: "biz-footer" }, str(item.footer.text)));
  const found = choices(cloud);
  if (item.type === "button") {
    parts.push(el("span", { class: "choices", role: "group", "aria-label": "Answers" }, ...found.map((ch) => button(ch, tap, disabled))));
  } else if (item.type === "list") {
    const byId = new Map(found.map((ch) => [ch.id, ch]));
    const sections = list(action.sections).map((s) =>
      el(
        "div",
        { class: "biz-section", role: "group", "aria-label": str(obj(s).title) || "Choices" },
        obj(s).title ? el("span", { class: "biz-section-title" }, str(s.title)) : null,
        ...list(obj(s).rows)
          .map((r) => byId.get(str(obj(r).id)))
          .filter(Boolean)
          .map((ch) => el("button", { type: "button", class: "choice row", disabled, onclick: () => tap(ch) }, ch.title, ch.description ? el("small", {}, ` — ${ch.description}`) : null)),
      ),
    );
    parts.push(el("details", { class: "biz-list" }, el("summary", {}, str(action.button) || "Choose"), ...sections));
  } else if (item.type === "cta_url") {
    const p = obj(action.parameters);
    parts.push(businessLink(p.url, p.display_text));
  } else {
    return null;
  }
  return parts;
}

function productItem(p) {
  return el(
    "li",
    { class: "biz-product", "data-retailer-id": p.retailer_id },
    el("span", { class: "biz-product-name" }, p.name),
    " ",
    el("span", { class: "biz-price", "data-price": priceText(p.price, p.currency) }, priceShown(p.price, p.currency)),
    p.available ? null : el("small", { class: "sold-out" }, " (out of stock)"),
  );
}

const productList = (products, label) => el("ul", { class: "biz-products", "aria-label": label }, ...products.map(productItem));

function renderCommerce(cloud, toPay) {
  const item = obj(cloud.interactive);
  const action = obj(item.action);
  const products = shownProducts(cloud);
  const parts = [];
  if (obj(item.header).text) parts.push(el("strong", { class: "biz-header" }, str(item.header.text)));
  if (obj(item.body).text) parts.push(el("span", { class: "body" }, str(item.body.text)));
  if (item.type === "product_list") {
    const byId = new Map(products.map((p) => [p.retailer_id, p]));
    for (const s of list(action.sections)) {
      const inSection = list(obj(s).product_items).map((ref) => byId.get(str(obj(ref).product_retailer_id))).filter(Boolean);
      const title = str(obj(s).title);
      parts.push(el("div", { class: "biz-section", role: "group", "aria-label": title || "Products" }, title ? el("span", { class: "biz-section-title" }, title) : null, productList(inSection, title || "Products")));
    }
  } else if (item.type === "product" || item.type === "catalog_message") {
    parts.push(productList(products, item.type === "product" ? "Product" : "Catalog"));
    if (item.type === "catalog_message") parts.push(el("span", { class: "biz-catalog" }, "From the business's catalog"));
  } else if (item.type === "order_details") {
    const reference = paymentReference(cloud);
    const amount = el("span", { class: "biz-amount", "aria-live": "polite" }, "checking the order…");
    parts.push(el("span", { class: "biz-order" }, `💳 Payment request for order ${str(reference)}: `, amount));
    toPay(cloud).then(
      (order) => {
        if (!order) amount.textContent = "no order of yours with this reference";
        else {
          amount.textContent = `${priceShown(order.total, order.currency)} (${str(order.status)})`;
          amount.dataset.price = priceText(order.total, order.currency);
        }
      },
      () => (amount.textContent = "the order could not be read"),
    );
  } else if (item.type === "order_status") {
    const update = orderUpdate(cloud);
    if (update) {
      parts.push(el("span", { class: "biz-order", "data-status": update.status }, `📦 Order ${update.order_id}: ${update.status}`));
      if (update.description) parts.push(el("small", { class: "biz-order-note" }, update.description));
    }
  }
  if (obj(item.footer).text) parts.push(el("small", { class: "biz-footer" }, str(item.footer.text)));
  return parts;
}

function renderTemplate(cloud, tap, disabled) {
  const t = obj(cloud.template);
  const byId = new Map(choices(cloud).map((ch) => [ch.id, ch]));
  const parts = [];
  const buttons = [];
  for (const raw of list(t.components)) {
    const comp = obj(raw);
    const type = str(comp.type).toUpperCase();
    if (type === "HEADER") {
      parts.push(comp.media ? el("span", { class: "biz-media" }, `[${str(comp.media)}]`) : el("strong", { class: "biz-header" }, str(comp.text)));
    } else if (type === "BODY") parts.push(el("span", { class: "body" }, str(comp.text)));
    else if (type === "FOOTER") parts.push(el("small", { class: "biz-footer" }, str(comp.text)));
    else if (type === "BUTTON") {
      const choice = comp.button === "QUICK_REPLY" && comp.payload ? byId.get(str(comp.payload)) : null;
      if (choice) buttons.push(button(choice, tap, disabled));
      else if (comp.button === "URL") buttons.push(businessLink(comp.link, comp.text));
      else buttons.push(el("span", { class: "not-link" }, str(comp.text)));
    }
  }
  if (buttons.length) parts.push(el("span", { class: "choices", role: "group", "aria-label": "Answers" }, ...buttons));
  return parts;
}

/** The business's profile above its conversation: name, verified, hosting, links, consent. */
export function renderProfile(business, hosting, consent, { onStop, onResume }) {
  const mode = hosting.verified
    ? hosting.mode === "hosted"
      ? `Hosted by ${hosting.operator}: the operator runs this business's endpoint and could read your messages to it.`
      : "Self-run: the business runs its own endpoint; the operator cannot read your messages to it."
    : `Hosting not verified (${hosting.problem}).`;
  const granted = consent === "granted";
  const said = { granted: "Promotions: allowed", revoked: "Promotions: stopped" }[consent] || "Promotions: not allowed yet";
  return el(
    "div",
    { class: "biz-profile", role: "region", "aria-label": "Business profile" },
    el(
      "p",
      {},
      el("strong", {}, str(business.name)),
      " ",
      business.verified ? el("span", { class: "verified" }, "✓ Verified business") : el("span", { class: "unverified" }, "Not verified"),
      " · ",
      str(business.address),
      list(business.numbers).length ? ` · ${list(business.numbers).map(str).join(", ")}` : null,
    ),
    business.about ? el("p", {}, str(business.about)) : null,
    el("p", { class: "hosting", "data-verified": hosting.verified ? "true" : "false" }, mode),
    business.website ? el("p", {}, businessLink(business.website, "Website")) : null,
    el(
      "p",
      { class: "actions" },
      el("span", { class: "consent" }, said),
      granted
        ? el("button", { type: "button", class: "secondary", onclick: onStop }, "Stop promotions")
        : el("button", { type: "button", class: "secondary", onclick: onResume }, "Allow promotions"),
    ),
  );
}

/**
 * My consents to businesses (docs/business.md section 8), one line per business and scope, each with
 * the button that changes it: `consents` as GET /v1/me/business-consents gives them, `names` business
 * id -> name.
 */
export function renderConsents(consents, names, { onRevoke, onGrant }) {
  const rows = list(consents).map((c) => {
    const who = names.get(c.business_id) || c.business_id;
    const granted = c.state === "granted";
    const label = `${granted ? "Stop" : "Allow"} ${c.scope} messages from ${who}`;
    return el(
      "li",
      {},
      el("span", {}, `${who}: ${c.scope} ${granted ? "allowed" : "stopped"}`),
      el("button", { type: "button", class: "link", "aria-label": label, onclick: () => (granted ? onRevoke(c) : onGrant(c)) }, granted ? "Stop" : "Allow"),
    );
  });
  return el("ul", { id: "consent-list", "aria-label": "My consents to businesses" }, ...(rows.length ? rows : [el("li", { class: "empty" }, "None.")]));
}
