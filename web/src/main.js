// The page: one app (its name comes from the URL, /app/<name>/), its sign-up or log-in form, then its
// conversations. Rendering is plain DOM; every control has a label and works from the keyboard.
import { Businesses } from "./businesses.js";
import { renderCloud, renderConsents, renderProfile } from "./business-view.js";
import { Client } from "./client.js";
import { TIMERS, timerLabel } from "./timers.js";

const $ = (selector) => document.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function field(label, name, attrs = {}) {
  const id = `f-${name}`;
  return el("p", { class: "field" }, el("label", { for: id }, label), el("input", { id, name, ...attrs }));
}

let client = null;
let current = null; // the account id of the person on screen
let typingSince = 0; // when this page last said "typing"
let mode = null; // {kind: "reply" | "edit", target}: what the composer is doing besides a new message

function setMode(next) {
  mode = next;
  $("#composing").hidden = !mode;
  if (!mode) return;
  const quote = [...mode.target.body].slice(0, 80).join("");
  $("#composing-text").textContent = mode.kind === "edit" ? "Editing your message" : `Replying to “${quote}”`;
  if (mode.kind === "edit") $("#f-text").value = mode.target.body;
  $("#f-text").focus();
}
let typingClear = null;
const typers = new Map(); // who is typing in the open conversation -> until when

/** "Bob is typing…", "Bob and Dave are typing…" for the open conversation. */
function showTyping() {
  const now = Date.now();
  for (const [who, until] of typers) if (until <= now) typers.delete(who);
  const conv = currentConv();
  const group = conv && conv.kind === "group";
  const names = [...typers.keys()].map((a) => (group ? client.nameOf(a) : personName(a)));
  const line = names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are typing…`;
  $("#typing").textContent = line;
}

function currentConv() {
  if (!client || !client.state) return undefined;
  return Object.values(client.state.convs).find((c) => c.with === current);
}

function readCurrent() {
  const conv = currentConv();
  if (conv && document.visibilityState === "visible") client.markRead(conv.conv).catch(() => {});
}

function showError(message) {
  const box = $("#error");
  box.textContent = message || "";
  box.hidden = !message;
}

function explain(err) {
  const known = {
    unauthorized: "That did not work: check what you typed and try again.",
    alias_taken: "That name is taken already. Choose another one, or log in.",
    not_found: "Nobody found at that address (or they cannot be found from your app).",
    rate_limited: "Too many attempts. Wait a little and try again.",
    offline: "The server cannot be reached. Check your connection.",
  };
  return known[err.code] || err.message || String(err);
}

async function guarded(action) {
  showError("");
  try {
    await action();
  } catch (err) {
    showError(explain(err));
  }
}

// --- sign-up and log-in ---------------------------------------------------------------------------

function identityFields(kind, join) {
  if (kind === "phone") {
    return [
      field("Phone number (international, e.g. +33612345678)", "phone", { type: "tel", autocomplete: "tel", required: true }),
      el("p", {}, el("button", { type: "button", id: "send-code" }, "Send me a code")),
      field("Code", "code", { inputmode: "numeric", autocomplete: "one-time-code", required: true }),
      join ? null : field("Your name", "display_name", { required: true, maxlength: 64 }),
    ];
  }
  const alias = kind === "handle" ? ["Handle", "handle"] : ["Username", "username"];
  return [
    field(alias[0], alias[1], { autocomplete: "username", required: true }),
    join || kind === "handle" ? null : field("Your real name", "display_name", { required: true, maxlength: 64 }),
    kind === "handle" && !join ? field("Display name (optional)", "display_name", { maxlength: 64 }) : null,
    field("Password (8 characters or more)", "password", {
      type: "password",
      autocomplete: join ? "current-password" : "new-password",
      minlength: 8,
      required: true,
    }),
  ];
}

function renderAuth(join) {
  const app = client.app;
  const form = el(
    "form",
    { id: "auth", "aria-labelledby": "auth-title" },
    el("h2", { id: "auth-title" }, join ? `Log in to ${app.display_name} on this browser` : `Create your ${app.display_name} account`),
    ...identityFields(app.identity, join),
    el("p", {}, el("button", { type: "submit" }, join ? "Log in" : "Create account")),
    el(
      "p",
      {},
      el("button", { type: "button", class: "link", id: "switch-auth" }, join ? "I am new here: create an account" : "I have an account: log in"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form).entries());
    for (const k of Object.keys(data)) if (data[k] === "") delete data[k];
    guarded(async () => {
      await client.enrol(data, { join });
      await startChat();
    });
  });
  const main = $("#main");
  main.replaceChildren(form);
  $("#switch-auth").addEventListener("click", () => renderAuth(!join));
  const code = $("#send-code");
  if (code) {
    code.addEventListener("click", () =>
      guarded(async () => {
        await client.requestCode($("#f-phone").value.trim());
        $("#f-code").focus();
      }),
    );
  }
  form.querySelector("input").focus();
}

// --- conversations ----------------------------------------------------------------------------

function personName(accountId) {
  const group = client.state.convs[accountId];
  if (group && group.kind === "group") return group.name ? `${group.name} (group)` : "A group";
  const p = client.state.people[accountId];
  if (!p) return accountId;
  return p.address ? `${p.display_name} (${p.address})` : p.display_name;
}

function renderChat() {
  const app = client.app;
  $("#me").textContent = client.state.me.address;
  $("#signout").hidden = false;
  const find = el(
    "form",
    { id: "find", role: "search" },
    field("Find a person by address (e.g. chat:+33612345678, photo:alice, social:marie.d) or a business (biz:velo-paris, or its number)", "address", {
      required: true,
      autocomplete: "off",
    }),
    el("button", { type: "submit" }, "Find"),
  );
  find.addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const query = $("#f-address").value.trim();
      let person;
      if (Businesses.names(query)) {
        const business = await client.businesses.find(query);
        if (!business.account_id) throw new Error(`${business.name} cannot be reached yet (it has no endpoint).`);
        person = await client.person(business.account_id);
      } else person = await client.lookup(query);
      await client.conversationWith(person.account_id);
      await client.save();
      open(person.account_id);
    });
  });
  const list = el("nav", { "aria-label": "Conversations" }, el("ul", { id: "convs" }));
  const newGroup = el(
    "details",
    { id: "new-group" },
    el("summary", {}, "New group"),
    el(
      "form",
      { id: "group-form" },
      field("Group name", "group-name", { required: true, maxlength: 64 }),
      field("Addresses of the people to add, separated by spaces", "group-members", { required: true, autocomplete: "off" }),
      el("button", { type: "submit" }, "Create the group"),
    ),
  );
  const join = el(
    "details",
    { id: "join-group" },
    el("summary", {}, "Join a group"),
    el(
      "form",
      { id: "join-form" },
      field("Invite link", "invite", { required: true, autocomplete: "off" }),
      el("button", { type: "submit" }, "Join the group"),
    ),
  );
  const settings = el(
    "details",
    { id: "settings" },
    el("summary", {}, el("h2", { class: "in-summary" }, "Settings and devices")),
    el("div", { id: "settings-body" }),
  );
  settings.addEventListener("toggle", () => settings.open && guarded(renderSettings));
  const thread = el(
    "section",
    { id: "thread", "aria-labelledby": "thread-title" },
    el("h2", { id: "thread-title" }, "No conversation open"),
    el("p", { id: "last-seen", hidden: true }),
    el("div", { id: "members", hidden: true }),
    el("div", { id: "biz-profile", hidden: true }),
    el(
      "p",
      { id: "safety-row", class: "actions", hidden: true },
      el("button", { type: "button", class: "link", id: "show-safety", "aria-controls": "safety" }, "Safety number"),
      el("button", { type: "button", class: "link", id: "block" }, "Block"),
      el("button", { type: "button", class: "link", id: "show-report", "aria-controls": "report" }, "Report"),
      el("button", { type: "button", class: "link", id: "add-contact" }, "Add to contacts"),
      has("themes")
        ? el(
            "span",
            {},
            el("label", { for: "f-colour" }, "Colour "),
            el("input", { id: "f-colour", type: "color", value: "#888888" }),
          )
        : null,
      has("disappearing")
        ? el(
            "span",
            {},
            el("label", { for: "f-timer" }, "Disappearing messages "),
            el("select", { id: "f-timer" }, ...TIMERS.map(([s, label]) => el("option", { value: String(s) }, label))),
          )
        : null,
    ),
    el(
      "p",
      { id: "safety", hidden: true, "aria-live": "polite" },
      "Compare this number with theirs (in person, or on a call). If it matches, nobody is between you: ",
      el("strong", { id: "safety-number" }),
    ),
    el(
      "form",
      { id: "report", hidden: true, "aria-labelledby": "report-title" },
      el("h3", { id: "report-title" }, "Report"),
      el("p", {}, "The messages you tick are sent to the operator in plain text, from this device; nothing else is."),
      el("fieldset", { id: "report-messages" }, el("legend", {}, "Messages to include")),
      el("p", { class: "field" }, el("label", { for: "f-reason" }, "What is wrong (optional)"), el("input", { id: "f-reason", maxlength: 500 })),
      el("p", {}, el("input", { type: "checkbox", id: "f-report-block" }), el("label", { for: "f-report-block" }, "Also block them")),
      el(
        "p",
        { class: "actions" },
        el("button", { type: "submit" }, "Send the report"),
        el("button", { type: "button", class: "secondary", id: "report-cancel" }, "Cancel"),
      ),
    ),
    el(
      "div",
      { id: "request", role: "region", "aria-label": "Message request", hidden: true },
      el("p", { id: "request-text" }),
      el(
        "p",
        { class: "actions" },
        el("button", { type: "button", id: "request-accept" }, "Accept"),
        el("button", { type: "button", id: "request-decline", class: "secondary" }, "Decline"),
        el("button", { type: "button", id: "request-block", class: "secondary" }, "Decline and block"),
      ),
    ),
    el("p", { id: "report-done", role: "status", hidden: true }, "Thank you: your report was sent to the operator."),
    el("ol", { id: "messages", role: "log", "aria-live": "polite", "aria-label": "Messages" }),
    el("p", { id: "typing", "aria-live": "polite" }),
    el(
      "p",
      { id: "composing", hidden: true },
      el("span", { id: "composing-text" }),
      " ",
      el("button", { type: "button", class: "link", id: "composing-cancel" }, "Cancel"),
    ),
    el(
      "form",
      { id: "composer", hidden: true },
      el("label", { for: "f-text", class: "visually-hidden" }, "Message"),
      el("input", { id: "f-text", name: "text", autocomplete: "off", placeholder: "Write a message", required: true }),
      has("voice") ? el("button", { type: "button", id: "record", class: "secondary", "aria-pressed": "false" }, "🎤 Record") : null,
      has("media") ? el("label", { for: "f-file", class: "attach", title: "Attach a photo or file" }, "📎 Attach") : null,
      has("media") ? el("input", { id: "f-file", type: "file", class: "visually-hidden", "aria-label": "Attach a photo or file" }) : null,
      el("button", { type: "submit" }, "Send"),
    ),
  );
  const stories = has("stories")
    ? el(
        "section",
        { id: "stories", "aria-labelledby": "stories-title" },
        el("h2", { id: "stories-title" }, "Stories"),
        el("ul", { id: "story-list" }),
        el(
          "form",
          { id: "story-form" },
          field("Story text, or a caption (your contacts see it for 24 hours)", "story-text", { maxlength: 700, autocomplete: "off" }),
          has("media") ? field("A photo or video for the story (optional)", "story-file", { type: "file", accept: "image/*,video/*" }) : null,
          el("button", { type: "submit" }, "Post the story"),
        ),
        el("div", { id: "story-view", role: "region", "aria-label": "Story", hidden: true }),
      )
    : null;
  $("#main").replaceChildren(el("aside", {}, find, list, stories, newGroup, join, settings), thread);
  $("#join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const conv = await client.joinGroup(inviteToken($("#f-invite").value));
      $("#f-invite").value = "";
      $("#join-group").open = false;
      history.replaceState(null, "", location.pathname);
      open(conv.conv);
    });
  });
  if (/[#&]join=/.test(location.hash)) {
    $("#join-group").open = true;
    $("#f-invite").value = location.href;
  }
  if (stories) {
    $("#story-form").addEventListener("submit", (event) => {
      event.preventDefault();
      guarded(async () => {
        const picker = $("#f-story-file");
        const file = picker && picker.files && picker.files[0] ? picker.files[0] : null;
        const text = $("#f-story-text").value.trim();
        if (!file && !text) throw new Error("Write a text, or choose a photo or video, for your story.");
        $("#story-view").hidden = false;
        $("#story-view").textContent = file ? "Encrypting and posting your story…" : "Posting your story…";
        const posted = await client.postStory(text, file);
        $("#f-story-text").value = "";
        if (picker) picker.value = "";
        showError("");
        $("#story-view").hidden = false;
        $("#story-view").textContent = `Posted for ${posted.audience.length} ${posted.audience.length === 1 ? "person" : "people"}.`;
        await renderStories();
      });
    });
    client.addEventListener("stories", () => renderStories().catch(() => {}));
    renderStories().catch(() => {});
  }
  $("#group-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const addresses = $("#f-group-members").value.split(/[\s,]+/).filter(Boolean);
      const people = [];
      for (const address of addresses) people.push((await client.lookup(address)).account_id);
      const conv = await client.createGroup($("#f-group-name").value.trim(), people);
      $("#f-group-name").value = "";
      $("#f-group-members").value = "";
      $("#new-group").open = false;
      open(conv.conv);
    });
  });
  $("#request-accept").addEventListener("click", () =>
    guarded(async () => {
      await client.accept(currentConv().conv);
      open(current);
    }),
  );
  for (const [id, block] of [
    ["#request-decline", false],
    ["#request-block", true],
  ]) {
    $(id).addEventListener("click", () =>
      guarded(async () => {
        await client.decline(currentConv().conv, block);
        closeThread();
      }),
    );
  }
  $("#block").addEventListener("click", () =>
    guarded(async () => {
      const conv = currentConv();
      if (conv.blocked) await client.unblock(current);
      else await client.block(current);
      open(current);
    }),
  );
  const colour = $("#f-colour");
  if (colour) colour.addEventListener("change", () => guarded(() => client.setTheme(currentConv().conv, colour.value)));
  const timer = $("#f-timer");
  if (timer) {
    timer.addEventListener("change", () => guarded(() => client.setTimer(currentConv().conv, Number(timer.value))));
  }
  $("#add-contact").addEventListener("click", () =>
    guarded(async () => {
      await client.addContact(current);
      $("#add-contact").textContent = "✓ In your contacts";
    }),
  );
  $("#show-report").addEventListener("click", () => {
    const conv = currentConv();
    const shown = conv.messages.filter((m) => !m.notice && !m.deleted).slice(-20);
    const theirs = shown.filter((m) => !m.mine).slice(-3); // their last three, ticked to start with
    $("#report-title").textContent = `Report ${personName(current)}`;
    $("#report-messages").replaceChildren(
      el("legend", {}, "Messages to include"),
      ...shown.map((m, i) =>
        el(
          "p",
          {},
          el("input", { type: "checkbox", id: `f-rep-${i}`, value: m.id, checked: theirs.includes(m) }),
          el("label", { for: `f-rep-${i}` }, `${m.mine ? "You" : personName(m.from)}: ${m.body || (m.attachment ? `[${m.attachment.kind}]` : "")}`),
        ),
      ),
    );
    $("#report").hidden = false;
    $("#f-reason").focus();
  });
  $("#report-cancel").addEventListener("click", () => ($("#report").hidden = true));
  $("#report").addEventListener("submit", (event) => {
    event.preventDefault();
    const conv = currentConv();
    const ids = new Set([...$("#report-messages").querySelectorAll("input:checked")].map((i) => i.value));
    const chosen = conv.messages.filter((m) => ids.has(m.id));
    if (chosen.length === 0) {
      showError("Tick at least one message to include in the report.");
      return;
    }
    guarded(async () => {
      await client.report(conv.conv, chosen, $("#f-reason").value.trim(), $("#f-report-block").checked);
      $("#report").hidden = true;
      $("#report-done").hidden = false;
      open(current);
    });
  });
  $("#show-safety").addEventListener("click", () =>
    guarded(async () => {
      $("#safety-number").textContent = "computing…";
      $("#safety").hidden = false;
      $("#safety-number").textContent = await client.safetyNumber(current);
    }),
  );
  $("#composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("#f-text");
    const text = input.value;
    if (!text.trim() || !current) return;
    input.value = "";
    typingSince = 0;
    const conv = currentConv();
    if (conv) client.setTyping(conv.conv, false).catch(() => {});
    const doing = mode;
    setMode(null);
    if (doing && doing.kind === "edit") guarded(() => client.edit(conv.conv, doing.target, text));
    else guarded(() => client.sendText(current, text, { replyTo: doing ? doing.target : null }));
  });
  const record = $("#record");
  if (record) record.addEventListener("click", () => guarded(toggleRecording));
  const picker = $("#f-file");
  if (picker) {
    picker.addEventListener("change", () => {
      const file = picker.files && picker.files[0];
      if (!file || !current) return;
      const caption = $("#f-text").value;
      $("#f-text").value = "";
      picker.value = "";
      guarded(() => client.sendFile(current, file, caption));
    });
  }
  $("#composing-cancel").addEventListener("click", () => {
    if (mode && mode.kind === "edit") $("#f-text").value = "";
    setMode(null);
  });
  $("#f-text").addEventListener("input", () => {
    const conv = currentConv();
    if (!conv || Date.now() - typingSince < 3000) return;
    typingSince = Date.now();
    client.setTyping(conv.conv, true).catch(() => {});
  });
  document.body.dataset.features = app.features.join(" ");
  renderList();
}

/** A labelled choice of the settings panel that saves itself when changed. */
function choice(id, label, options, value, save) {
  const select = el("select", { id }, ...options.map(([v, text]) => el("option", { value: v, selected: v === value }, text)));
  select.addEventListener("change", () => guarded(() => save(select.value)));
  return el("p", { class: "field" }, el("label", { for: id }, label), select);
}

function tick(id, label, checked, save) {
  const box = el("input", { type: "checkbox", id, checked });
  box.addEventListener("change", () => guarded(() => save(box.checked)));
  return el("p", {}, box, el("label", { for: id }, ` ${label}`));
}

async function renderSettings() {
  const [me, privacy, stories, contacts, blocks, consents] = await Promise.all([
    client.me(),
    client.privacy(),
    has("stories") ? client.storySettings() : null,
    client.contacts(),
    client.blocks(),
    client.businesses.consents(),
  ]);
  const businessNames = await client.businesses.names(consents.consents);
  await Promise.all([...contacts, ...blocks].map((c) => client.person(c.account_id).catch(() => null)));
  const save = (values) => client.updatePrivacy(values);
  const settings = [
    el("h3", {}, "Privacy"),
    choice("f-findability", "Who can find me by my address", [
      ["everyone", "Everyone, on every app"],
      ["app", `Only people on ${client.app.display_name}`],
      ["nobody", "Nobody"],
    ], privacy.findability, (v) => save({ findability: v })),
    choice("f-message-from", "Who can start a conversation with me", [
      ["everyone", "Everyone who can find me"],
      ["contacts", "Only my contacts"],
    ], privacy.message_from, (v) => save({ message_from: v })),
    choice("f-last-seen", "Who sees when I was last online", [
      ["everyone", "Everyone"],
      ["contacts", "My contacts"],
      ["nobody", "Nobody"],
    ], privacy.last_seen, (v) => save({ last_seen: v })),
    tick("f-receipts", "Send read receipts", privacy.read_receipts, (on) => save({ read_receipts: on })),
    stories ? tick("f-cross-app", "Show my stories to my contacts on other apps", stories.cross_app, (on) => client.setStoriesCrossApp(on)) : null,
  ];
  const people = (id, label, list, action, button) =>
    el(
      "ul",
      { id, "aria-label": label },
      ...(list.length === 0
        ? [el("li", { class: "empty" }, "Nobody.")]
        : list.map((c) =>
            el(
              "li",
              {},
              el("span", {}, personName(c.account_id)),
              el("button", { type: "button", class: "link", "aria-label": `${button} ${personName(c.account_id)}`,
                onclick: () => guarded(async () => {
                  await action(c.account_id);
                  await renderSettings();
                }) }, button),
            ),
          )),
    );
  const devices = el(
    "ul",
    { id: "devices", "aria-label": "My devices" },
    ...me.devices.map((d) =>
      el(
        "li",
        {},
        el("span", {}, d.device_id === me.device_id ? `${d.name} (this browser)` : d.name),
        d.device_id === me.device_id
          ? null
          : el(
              "button",
              {
                type: "button",
                class: "link",
                "aria-label": `Remove ${d.name}`,
                onclick: () =>
                  guarded(async () => {
                    await client.removeDevice(d.device_id);
                    await renderSettings();
                  }),
              },
              "Remove",
            ),
      ),
    ),
  );
  const phone = client.app.identity === "phone";
  const erase = el(
    "form",
    { id: "erase", "aria-labelledby": "erase-title" },
    el("h3", { id: "erase-title" }, "Erase my account"),
    el("p", {}, "Everything the server holds about you goes at once and for good: your account, devices, contacts, stories and files. Messages already on other people's devices stay there."),
    phone
      ? el("p", { class: "actions" }, el("button", { type: "button", class: "secondary", id: "erase-code" }, "Send me a code"))
      : null,
    phone
      ? field("Code", "erase-proof", { inputmode: "numeric", autocomplete: "one-time-code", required: true })
      : field("Your password", "erase-proof", { type: "password", autocomplete: "current-password", required: true }),
    el("p", {}, el("input", { type: "checkbox", id: "f-erase-sure", required: true }), el("label", { for: "f-erase-sure" }, "I understand that this cannot be undone")),
    el("p", {}, el("button", { type: "submit", class: "danger" }, "Erase my account for good")),
  );
  $("#settings-body").replaceChildren(
    ...settings,
    el("h3", {}, "My contacts"),
    people("contact-list", "My contacts", contacts, (a) => client.removeContact(a), "Remove from contacts"),
    el("h3", {}, "People I blocked"),
    people("block-list", "People I blocked", blocks, (a) => client.unblock(a), "Unblock"),
    el("h3", {}, "Businesses"),
    renderConsents(consents.consents, businessNames, {
      onRevoke: (c) => guarded(async () => {
        await client.businesses.revoke(c.business_id, c.scope);
        await renderSettings();
      }),
      onGrant: (c) => guarded(async () => {
        await client.businesses.optIn(c.business_id, c.scope);
        await renderSettings();
      }),
    }),
    el("h3", {}, "My devices"),
    devices,
    el("h3", {}, "My data"),
    el("p", {}, el("button", { type: "button", class: "secondary", id: "export" }, "Download what the server holds about me")),
    erase,
  );
  $("#export").addEventListener("click", () =>
    guarded(async () => {
      const text = await client.exportData();
      const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
      const a = el("a", { href: url, download: `passerelle-${client.app.name}-export.json` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    }),
  );
  const codeButton = $("#erase-code");
  if (codeButton) {
    codeButton.addEventListener("click", () =>
      guarded(async () => {
        await client.requestCode(client.state.me.address.replace(/^[^:]*:/, ""));
        $("#f-erase-proof").focus();
      }),
    );
  }
  erase.addEventListener("submit", (event) => {
    event.preventDefault();
    const proof = $("#f-erase-proof").value;
    guarded(async () => {
      await client.erase(phone ? { code: proof.trim() } : { password: proof });
      $("#me").textContent = "";
      $("#signout").hidden = true;
      $("#status").textContent = "";
      delete $("#status").dataset.state;
      renderAuth(false);
      const done = el("p", { id: "erased", role: "status" }, "Your account was erased. Nothing of it is left on the server or in this browser.");
      $("#main").prepend(done);
    });
  });
}

function renderList() {
  const ul = $("#convs");
  if (!ul) return;
  listed.clear();
  for (const c of Object.keys(client.state.convs)) listed.add(c);
  ul.replaceChildren(
    ...Object.values(client.state.convs).map((c) =>
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", "aria-current": c.with === current ? "true" : null, onclick: () => open(c.with) },
          c.request ? `Request: ${personName(c.with)}` : personName(c.with),
        ),
      ),
    ),
  );
}

/** The conversation's colour, for apps that show themes (set through the CSSOM: the CSP allows it). */
function applyTheme(conv) {
  const thread = $("#thread");
  const colour = has("themes") && conv && conv.theme ? conv.theme.colour : "";
  thread.style.setProperty("--primary", colour || "");
  thread.dataset.theme = colour;
  if (colour && $("#f-colour")) $("#f-colour").value = colour;
  if (!colour) thread.style.removeProperty("--primary");
}

async function renderStories() {
  const list = $("#story-list");
  if (!list) return;
  const stories = await client.stories();
  const icon = { image: "📷 ", video: "🎬 " };
  list.replaceChildren(
    ...stories.map((s) => {
      const who = s.mine ? "You" : personName(s.author);
      const seen = s.mine ? ` · seen by ${Object.keys(s.seenBy || {}).length}` : s.viewed ? " · seen" : " · new";
      const label = `${icon[s.kind] || ""}${who}${seen}`;
      return el("li", {}, el("button", { type: "button", class: "story", "data-story": s.id, onclick: () => guarded(() => showStory(s.id)) }, label));
    }),
  );
}

/** A story's photo or video: fetched, checked and decrypted in the page (docs/protocol.md 12.2). */
function storyMedia(story) {
  const att = story.attachment;
  const who = story.mine ? "you" : personName(story.author);
  const media =
    att.kind === "video"
      ? el("video", { class: "story-media", controls: true, playsinline: true, "aria-label": `Video story from ${who}` })
      : el("img", { class: "story-media", alt: story.text ? `Photo story from ${who}: ${story.text}` : `Photo story from ${who}`, width: att.width, height: att.height });
  client.fileUrl(att).then(
    (url) => (media.src = url),
    (err) => media.replaceWith(el("p", { class: "broken" }, `The story cannot be shown: ${err.message}`)),
  );
  return media;
}

async function showStory(id) {
  const story = await client.viewStory(id);
  const view = $("#story-view");
  if (!story) {
    view.hidden = false;
    view.textContent = "This story is no longer here.";
    return;
  }
  view.hidden = false;
  view.dataset.story = id;
  const parts = [el("h3", { class: "who", id: "story-who", tabindex: "-1" }, story.mine ? "Your story" : `${personName(story.author)}'s story`)];
  if (story.attachment) parts.push(storyMedia(story));
  if (story.text) parts.push(el("p", { class: "story-text" }, story.text));
  const left = Math.max(0, Math.round((story.expires_at - Date.now()) / 3600000));
  parts.push(el("p", { class: "meta" }, left >= 1 ? `${left} h left` : "Less than an hour left"));
  if (story.mine) {
    const names = Object.keys(story.seenBy || {}).map(personName);
    parts.push(el("p", { class: "seen-by" }, names.length ? `Seen by ${names.join(", ")}` : "Nobody has seen it yet."));
    parts.push(
      el(
        "p",
        {},
        el(
          "button",
          {
            type: "button",
            class: "secondary",
            onclick: () =>
              guarded(async () => {
                await client.deleteStory(id);
                view.textContent = "Your story was deleted.";
              }),
          },
          "Delete this story",
        ),
      ),
    );
  } else {
    const reply = el(
      "form",
      { class: "story-reply actions" },
      el("label", { for: "f-story-reply" }, `Reply to ${personName(story.author)}`),
      el("input", { id: "f-story-reply", autocomplete: "off", required: true, maxlength: 700 }),
      el("button", { type: "submit" }, "Send the reply"),
    );
    reply.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("#f-story-reply").value.trim();
      if (!text) return;
      guarded(async () => {
        await client.replyToStory(id, text);
        $("#f-story-reply").value = "";
        renderList();
        view.append(el("p", { role: "status" }, "Your reply is in your conversation with them."));
      });
    });
    parts.push(reply);
  }
  view.replaceChildren(...parts);
  $("#story-who").focus();
  await renderStories();
}

/** A group's panel: its picture and name (any member may change them), its members and their
 * rights (admins add, remove, promote and demote, and manage invite links); anyone may leave. */
function renderMembers(conv) {
  const me = client.state.me.account;
  const admin = (conv.admins || []).includes(me);
  if (conv.gone) {
    $("#members").replaceChildren(el("p", {}, "You are no longer in this group."));
    $("#composer").hidden = true;
    return;
  }
  const short = (a) => (a === me ? "you" : client.nameOf(a));
  const act = (label, work, ariaLabel) =>
    el("button", { type: "button", class: "link", "aria-label": ariaLabel, onclick: () => guarded(async () => {
      await work();
      renderMembers(client.state.convs[conv.conv]);
    }) }, label);
  const items = conv.members.map((a) => {
    const isAdmin = (conv.admins || []).includes(a);
    return el(
      "li",
      { "data-account": a },
      el("span", { class: "member-name" }, a === me ? "You" : personName(a)),
      isAdmin ? el("span", { class: "badge" }, " (admin)") : "",
      admin && a !== me
        ? el(
            "span",
            { class: "member-actions" },
            isAdmin
              ? act("Remove admin rights", () => client.setAdmin(conv.conv, a, false), `Take ${short(a)}'s admin rights away`)
              : act("Make admin", () => client.setAdmin(conv.conv, a, true), `Make ${short(a)} an admin`),
            act("Remove", () => client.removeMember(conv.conv, a), `Remove ${personName(a)} from the group`),
          )
        : null,
    );
  });
  const picture = conv.avatar
    ? el("img", { id: "group-avatar", class: "group-avatar", alt: `The picture of ${conv.name || "the group"}` })
    : null;
  if (picture) {
    client.fileUrl(conv.avatar).then(
      (url) => (picture.src = url),
      (err) => picture.replaceWith(el("span", { class: "broken" }, `The group's picture cannot be shown: ${err.message}`)),
    );
  }
  const about = el(
    "details",
    { id: "group-about" },
    el("summary", {}, "Group name and picture"),
    el(
      "form",
      { id: "rename", class: "actions" },
      el("label", { for: "f-group-rename" }, "The group's name"),
      el("input", { id: "f-group-rename", required: true, maxlength: 64, value: conv.name || "", autocomplete: "off" }),
      el("button", { type: "submit" }, "Rename"),
    ),
    has("media")
      ? el(
          "p",
          { class: "actions" },
          el("label", { for: "f-group-avatar" }, "Group picture"),
          el("input", { id: "f-group-avatar", type: "file", accept: "image/*" }),
        )
      : null,
  );
  const add = admin
    ? el(
        "form",
        { id: "add-members", class: "actions" },
        el("label", { for: "f-add" }, "Add people (addresses)"),
        el("input", { id: "f-add", autocomplete: "off", required: true }),
        el("button", { type: "submit" }, "Add"),
      )
    : null;
  const invites = admin
    ? el(
        "details",
        { id: "invites" },
        el("summary", {}, "Invite links"),
        el("p", {}, "Anyone with a link can join until you revoke it. People you removed cannot use one."),
        el("ul", { id: "invite-list" }),
        el("p", { id: "invite-new", role: "status" }),
        el("button", { type: "button", id: "create-invite", class: "secondary" }, "Create an invite link"),
      )
    : null;
  const leave = el(
    "button",
    {
      type: "button",
      class: "secondary",
      onclick: () =>
        guarded(async () => {
          await client.leaveGroup(conv.conv);
          renderMembers(conv);
        }),
    },
    "Leave the group",
  );
  const wasOpen = new Set([...$("#members").querySelectorAll("details[open]")].map((d) => d.id));
  const shown = $("#invite-new") ? [...$("#invite-new").childNodes] : [];
  $("#members").replaceChildren(
    picture || "",
    about,
    el("h3", {}, `Members (${conv.members.length})`),
    el("ul", { id: "member-list" }, ...items),
    add || "",
    invites || "",
    leave,
  );
  for (const d of $("#members").querySelectorAll("details")) d.open = wasOpen.has(d.id);
  if (invites && shown.length) $("#invite-new").replaceChildren(...shown);
  if (invites && invites.open) guarded(listInvites);
  $("#rename").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("#f-group-rename").value.trim();
    if (!name) return;
    guarded(async () => {
      await client.renameGroup(conv.conv, name);
      $("#thread-title").textContent = personName(conv.conv);
      renderList();
    });
  });
  const avatarPicker = $("#f-group-avatar");
  if (avatarPicker) {
    avatarPicker.addEventListener("change", () => {
      const file = avatarPicker.files && avatarPicker.files[0];
      if (!file) return;
      guarded(() => client.setGroupAvatar(conv.conv, file));
    });
  }
  if (add) {
    add.addEventListener("submit", (event) => {
      event.preventDefault();
      guarded(async () => {
        const ids = [];
        for (const address of $("#f-add").value.split(/[\s,]+/).filter(Boolean)) ids.push((await client.lookup(address)).account_id);
        await client.addMembers(conv.conv, ids);
        renderMembers(client.state.convs[conv.conv]);
      });
    });
  }
  async function listInvites() {
      const links = await client.invites(conv.conv);
      $("#invite-list").replaceChildren(
        ...links.map((i) =>
          el(
            "li",
            {},
            `Link made by ${short(i.created_by)} at ${new Date(i.created_at).toLocaleString()} `,
            el("button", { type: "button", class: "link", onclick: () => guarded(async () => {
              await client.revokeInvite(conv.conv, i.invite_id);
              $("#invite-new").textContent = "The link was revoked: it no longer works.";
              await listInvites();
            }) }, "Revoke"),
          ),
        ),
      );
  }
  if (invites) {
    const list = listInvites;
    invites.addEventListener("toggle", () => invites.open && guarded(list));
    $("#create-invite").addEventListener("click", () =>
      guarded(async () => {
        const made = await client.createInvite(conv.conv);
        const link = `${location.origin}/app/${client.app.name}/#join=${made.token}`;
        $("#invite-new").replaceChildren(
          "Send this link to the people you invite (it is shown once): ",
          el("input", { id: "f-invite-link", readonly: true, value: link, "aria-label": "The new invite link" }),
        );
        $("#f-invite-link").select();
        await list();
      }),
    );
  }
}

/** The secret of an invite link (…#join=<token>), or the text as it is when it is the bare token. */
function inviteToken(text) {
  const found = /[#&?]join=([A-Za-z0-9_-]+)/.exec(text);
  return found ? found[1] : text.trim();
}

let recording = null; // {recorder, chunks, started, ticker}

/** A voice note: recorded in the page (MediaRecorder), then encrypted and sent like a file. */
async function toggleRecording() {
  const button = $("#record");
  if (recording) {
    const { recorder, started, ticker } = recording;
    clearInterval(ticker);
    const done = new Promise((resolve) => recorder.addEventListener("stop", resolve, { once: true }));
    recorder.stop();
    await done;
    recorder.stream.getTracks().forEach((track) => track.stop());
    const { chunks } = recording;
    recording = null;
    button.textContent = "🎤 Record";
    button.setAttribute("aria-pressed", "false");
    const type = (chunks[0] && chunks[0].type) || "audio/webm";
    const file = new File(chunks, "voice-note.webm", { type });
    await client.sendFile(current, file, "", { kind: "voice", durationMs: Date.now() - started });
    return;
  }
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const recorder = new MediaRecorder(stream);
  const chunks = [];
  recorder.addEventListener("dataavailable", (event) => event.data.size && chunks.push(event.data));
  recorder.start();
  const started = Date.now();
  const ticker = setInterval(() => {
    const s = Math.floor((Date.now() - started) / 1000);
    button.textContent = `⏹ Stop (${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")})`;
  }, 250);
  recording = { recorder, chunks, started, ticker };
  button.textContent = "⏹ Stop (0:00)";
  button.setAttribute("aria-pressed", "true");
}

function closeReport() {
  $("#report").hidden = true;
  $("#report-done").hidden = true;
}

/** When the other person was last online, if their setting lets me see it (section 9.4). */
function showLastSeen(accountId) {
  const line = $("#last-seen");
  line.hidden = true;
  if (!accountId) return;
  client.lastSeen(accountId).then(
    (ts) => {
      if (current !== accountId || !ts) return;
      const when = new Date(ts);
      const day = when.toDateString() === new Date().toDateString() ? "today" : when.toLocaleDateString();
      line.textContent = `Last seen ${day} at ${when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
      line.hidden = false;
    },
    () => {},
  );
}

/** The profile of the business on screen, its hosting statement checked here (docs/business.md section 4). */
function showBusiness(accountId) {
  const box = $("#biz-profile");
  box.hidden = true;
  if (!accountId || !client.businesses.isBusiness(accountId)) return;
  guarded(async () => {
    const business = await client.businesses.of(accountId);
    if (!business || current !== accountId) return;
    const [hosting, consents] = await Promise.all([client.businesses.hosting(business), client.businesses.consents()]);
    const marketing = consents.consents.find((c) => c.business_id === business.business_id && c.scope === "marketing");
    const again = (work) => () => guarded(async () => {
      await work();
      showBusiness(accountId);
    });
    if (current !== accountId) return;
    box.replaceChildren(
      renderProfile(business, hosting, marketing && marketing.state, {
        onStop: again(() => client.businesses.revoke(business.business_id, "marketing")),
        onResume: again(() => client.businesses.optIn(business.business_id, "marketing")),
      }),
    );
    box.hidden = false;
  });
}

function closeThread() {
  current = null;
  $("#thread-title").textContent = "No conversation open";
  for (const id of ["#composer", "#safety-row", "#safety", "#request", "#last-seen", "#biz-profile"]) $(id).hidden = true;
  $("#messages").replaceChildren();
  renderList();
}

function open(accountId) {
  if (accountId !== current) closeReport();
  current = accountId;
  const conv = currentConv();
  $("#request").hidden = !(conv && conv.request);
  $("#request-text").textContent = `${personName(accountId)} is not in your contacts. Their messages wait here until you accept; they do not know whether you read them.`;
  $("#block").textContent = conv && conv.blocked ? "Unblock" : "Block";
  if ($("#f-timer")) $("#f-timer").value = String((conv && conv.timer) || 0);
  applyTheme(conv);
  $("#thread-title").textContent = personName(accountId);
  $("#composer").hidden = false;
  $("#safety-row").hidden = false;
  const group = conv && conv.kind === "group";
  for (const id of ["#show-safety", "#block", "#show-report", "#add-contact"]) $(id).hidden = group;
  $("#add-contact").textContent = "Add to contacts";
  $("#members").hidden = !group;
  showLastSeen(group ? null : accountId);
  if (group) renderMembers(conv);
  showBusiness(group ? null : accountId);
  $("#safety").hidden = true;
  typers.clear();
  $("#typing").textContent = "";
  setMode(null);
  renderMessages();
  readCurrent();
  renderList();
  $("#f-text").focus();
}

/** A message's state as its sender sees it; in a group, from every other member's receipts. */
function statusOf(conv, m) {
  if (conv.kind !== "group" || !m.receipts || ["failed", "sending"].includes(m.status)) return STATUS[m.status];
  const others = (conv.members || []).filter((a) => a !== client.state.me.account);
  const got = Object.entries(m.receipts).filter(([a]) => others.includes(a));
  const readers = got.filter(([, kind]) => kind === "read").map(([a]) => client.nameOf(a)).sort();
  if (others.length && readers.length === others.length) return "Read by everyone";
  if (readers.length) return `Read by ${readers.join(", ")}`;
  return `Delivered to ${got.length} of ${others.length}`;
}

const STATUS = { failed: "Not sent", sending: "Sending…", sent: "Sent", delivered: "Delivered", read: "Read" };
const QUICK = ["👍", "❤️", "😂"];

function has(feature) {
  return client.app.features.includes(feature);
}

/** The body with its mentions marked (a mention of me stands out). */
function withMentions(m) {
  if (!m.mentions || m.mentions.length === 0) return [m.body];
  const points = [...m.body];
  const out = [];
  let at = 0;
  for (const men of m.mentions) {
    if (men.offset < at) continue;
    out.push(points.slice(at, men.offset).join(""));
    const me = men.account === client.state.me.account;
    out.push(el("strong", { class: me ? "mention me" : "mention" }, points.slice(men.offset, men.offset + men.length).join("")));
    at = men.offset + men.length;
  }
  out.push(points.slice(at).join(""));
  return out;
}

function renderAttachment(m) {
  const att = m.attachment;
  const who = m.mine ? "you" : personName(m.from);
  if (att.kind === "image") {
    const img = el("img", { class: "photo", alt: `Photo from ${who}${att.name ? `: ${att.name}` : ""}`, width: att.width, height: att.height });
    client.fileUrl(att).then(
      (url) => (img.src = url),
      (err) => img.replaceWith(el("span", { class: "broken" }, `The photo cannot be shown: ${err.message}`)),
    );
    return img;
  }
  if (att.kind === "voice" || att.kind === "video") {
    const media = el(att.kind === "voice" ? "audio" : "video", { controls: true, class: att.kind, "aria-label": `${att.kind === "voice" ? "Voice note" : "Video"} from ${who}` });
    client.fileUrl(att).then(
      (url) => (media.src = url),
      (err) => media.replaceWith(el("span", { class: "broken" }, `It cannot be played: ${err.message}`)),
    );
    return media;
  }
  const kb = Math.max(1, Math.round(att.size / 1024));
  return el(
    "button",
    {
      type: "button",
      class: "file",
      onclick: () =>
        guarded(async () => {
          const a = el("a", { href: await client.fileUrl(att), download: safeName(att.name) || "file" });
          document.body.append(a);
          a.click();
          a.remove();
        }),
    },
    `📎 Download ${att.name || "file"} (${kb} KB)`,
  );
}

/** A file name from someone else, made safe to save: no folders, no control characters. */
function safeName(name) {
  return String(name || "").replace(/[\\/\u0000-\u001f\u007f]/g, "_").replace(/^\.+/, "").slice(0, 128);
}

function renderMessage(conv, m) {
  if (m.notice && m.text) return el("li", { class: "notice", "data-key": m.id }, m.text);
  if (m.notice) {
    const who = m.mine ? "You" : personName(m.from);
    const text = m.timer ? `${who} turned on disappearing messages: ${timerLabel(m.timer)}.` : `${who} turned off disappearing messages.`;
    return el("li", { class: "notice", "data-key": m.id }, text);
  }
  const actions = [];
  if (!m.deleted && m.mid !== undefined) {
    if (has("reply")) {
      actions.push(el("button", { type: "button", "aria-label": "Reply to this message", onclick: () => setMode({ kind: "reply", target: m }) }, "Reply"));
    }
    if (has("reaction")) {
      const mine = m.reactions && m.reactions[client.state.me.account];
      for (const emoji of QUICK) {
        const on = mine === emoji;
        actions.push(
          el(
            "button",
            {
              type: "button",
              "aria-label": on ? `Remove your ${emoji} reaction` : `React ${emoji}`,
              "aria-pressed": on ? "true" : "false",
              onclick: () => guarded(() => client.react(conv.conv, m, on ? "" : emoji)),
            },
            emoji,
          ),
        );
      }
    }
    if (m.mine && has("edit")) {
      actions.push(el("button", { type: "button", "aria-label": "Edit this message", onclick: () => setMode({ kind: "edit", target: m }) }, "Edit"));
    }
    if (m.mine && has("delete")) {
      actions.push(el("button", { type: "button", "aria-label": "Delete this message for everyone", onclick: () => guarded(() => client.remove(conv.conv, m)) }, "Delete"));
    }
  }
  const reactions = Object.entries(m.reactions || {});
  const rich = m.cloud && !m.deleted && has("interactive")
    ? renderCloud(m.cloud, (choice) => guarded(() => client.businesses.tap(m.from, m, choice)), m.mid === undefined, (cloud) => client.businesses.paymentRequest(m.from, cloud))
    : null;
  return el(
    "li",
    { class: `${m.mine ? "mine" : "theirs"}${m.deleted ? " deleted" : ""}`, "data-status": m.status, "data-id": m.id, "data-key": `${m.from} ${m.id}` },
    el("span", { class: "who" }, m.mine ? "You" : personName(m.from)),
    m.replyTo ? el("blockquote", { class: "quote" }, m.replyTo.quote) : null,
    m.attachment && !m.deleted ? renderAttachment(m) : null,
    rich ? el("span", { class: "biz" }, ...rich) : el("span", { class: "body" }, ...(m.deleted ? ["Message deleted"] : withMentions(m))),
    m.mismatch ? el("span", { class: "mismatch", role: "note" }, `⚠ This message is not what the business declared (${m.mismatch}); it was reported.`) : null,
    reactions.length
      ? el(
          "span",
          { class: "reactions" },
          reactions.map(([who, emoji]) => `${emoji} ${who === client.state.me.account ? "You" : personName(who)}`).join(" · "),
        )
      : null,
    el(
      "span",
      { class: "meta" },
      el("time", { datetime: new Date(m.ts).toISOString() }, new Date(m.ts).toLocaleTimeString()),
      m.edited && !m.deleted ? " · edited" : null,
      m.mine && STATUS[m.status] ? el("span", { class: "state" }, ` · ${statusOf(conv, m)}`) : null,
    ),
    actions.length ? el("span", { class: "actions msg-actions" }, ...actions) : null,
  );
}

/** One message added or changed: only its line is drawn again (a long history stays cheap). */
function renderOne(conv, m) {
  const ol = $("#messages");
  const index = conv.messages.indexOf(m);
  if (index === -1) return renderMessages(); // it went (expired): draw everything
  const line = renderMessage(conv, m);
  const old = ol.children[index];
  if (old && old.dataset.key === line.dataset.key) old.replaceWith(line);
  else if (index === ol.children.length) ol.append(line);
  else return renderMessages();
  if (index === conv.messages.length - 1) ol.scrollTop = ol.scrollHeight;
}

const listed = new Set(); // conversations in the list as drawn

function renderMessages() {
  const conv = currentConv();
  const ol = $("#messages");
  if (!conv || !ol) return;
  ol.replaceChildren(...conv.messages.map((m) => renderMessage(conv, m)));
  ol.scrollTop = ol.scrollHeight;
}

let listening = false; // the client's listeners are added once per page (an erased account may make way for a new one)

async function startChat() {
  renderChat();
  if (!listening) {
    listening = true;
    client.addEventListener("message", (event) => {
      const conv = currentConv();
      const { message } = event.detail;
      if (!listed.has(event.detail.conv) || !message) renderList();
      if (conv && event.detail.conv === conv.conv && message) renderOne(conv, message);
      else if (conv && event.detail.conv === conv.conv) renderMessages();
      if (conv && event.detail.conv === conv.conv) {
        if (conv.kind === "group" && (!message || message.notice)) {
          renderMembers(conv);
          $("#thread-title").textContent = personName(current);
        }
        $("#request").hidden = !conv.request;
        if ($("#f-timer")) $("#f-timer").value = String(conv.timer || 0);
        applyTheme(conv);
      }
      if (conv && event.detail.conv === conv.conv && event.detail.message && !event.detail.message.mine) {
        typers.delete(event.detail.message.from);
        showTyping();
        readCurrent();
      }
    });
    client.addEventListener("typing", (event) => {
      const { conv, from, typing } = event.detail;
      const open = currentConv();
      if (!open || open.conv !== conv || from === client.state.me.account) return;
      if (open.kind !== "group" && from !== current) return;
      if (typing) typers.set(from, Date.now() + 6000);
      else typers.delete(from);
      showTyping();
      clearTimeout(typingClear);
      if (typers.size) typingClear = setTimeout(showTyping, 6100);
    });
    document.addEventListener("visibilitychange", readCurrent);
    setInterval(() => client.state && client.purgeExpired().catch(() => {}), 30_000);
    client.addEventListener("connection", (event) => {
      const status = $("#status");
      status.textContent = { online: "Online", connecting: "Connecting…", offline: "Offline: reconnecting…" }[event.detail] || event.detail;
      status.dataset.state = event.detail;
    });
    client.addEventListener("problem", (event) => showError(event.detail));
    client.addEventListener("removed", () => {
      $("#main").replaceChildren();
      $("#me").textContent = "";
      $("#signout").hidden = true;
      showError("This browser was removed from your account from another device. Reload the page to log in again.");
    });
  }
  await client.purgeExpired();
  await client.connect();
}

/**
 * One tab per app and browser owns the device (two would share it and overwrite each other's
 * sessions): the owner holds a Web Lock. Another tab says so and offers to take the app over: it asks
 * the owner on a BroadcastChannel, the owner saves, stops and lets the lock go, and the new tab starts.
 */
let releaseLock = null;

function holdTheApp(name, { wait = false } = {}) {
  if (!navigator.locks) return Promise.resolve(true);
  return new Promise((resolve) => {
    navigator.locks.request(`passerelle:${name}`, wait ? {} : { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock ? new Promise((release) => (releaseLock = release)) : undefined; // held until released
    });
  });
}

function tabs(name) {
  return "BroadcastChannel" in self ? new BroadcastChannel(`passerelle:${name}`) : null;
}

/** The owner's side: when another tab asks for the app, this one stops and hands it over. */
function giveUpWhenAsked(name) {
  const channel = tabs(name);
  if (!channel) return;
  channel.onmessage = async (event) => {
    if (event.data !== "take" || !releaseLock) return;
    channel.close();
    if (client) await client.suspend();
    $("#me").textContent = "";
    $("#signout").hidden = true;
    $("#status").textContent = "";
    delete $("#status").dataset.state;
    const again = el("button", { type: "button", id: "take-back" }, "Use the app in this tab");
    again.addEventListener("click", () => location.reload());
    $("#main").replaceChildren(el("p", {}, again));
    showError("The app is now open in another tab of this browser. This tab stopped, so that the two do not share one device.");
    document.body.dataset.ready = "elsewhere";
    const release = releaseLock;
    releaseLock = null;
    release();
  };
}

/** The other tab's side: it waits for the owner to let go, then starts. */
function offerTakeover(name) {
  const take = el("button", { type: "button", id: "take-over" }, "Use the app in this tab");
  take.addEventListener("click", async () => {
    take.disabled = true;
    take.textContent = "Waiting for the other tab…";
    const channel = tabs(name);
    const held = holdTheApp(name, { wait: true });
    if (channel) {
      channel.postMessage("take");
      channel.close();
    }
    await held;
    showError("");
    await start(name);
  });
  $("#main").replaceChildren(el("p", {}, take));
  take.focus();
}

async function start(name) {
  try {
    giveUpWhenAsked(name);
    const { apps } = await (await fetch("/v1/apps")).json();
    const app = apps.find((a) => a.name === name);
    if (!app) throw new Error(`this server has no app named ${name}`);
    client = await Client.open(app);
    $("#signout").addEventListener("click", () =>
      guarded(async () => {
        await client.signOut();
        location.reload();
      }),
    );
    if (client.signedIn) await startChat();
    else renderAuth(false);
    document.body.dataset.ready = "true";
  } catch (err) {
    showError(`The app cannot start: ${explain(err)}`);
  }
}

async function boot() {
  const name = document.documentElement.dataset.app;
  if (!(await holdTheApp(name))) {
    showError("This app is already open in another tab of this browser. Use that tab, or use the app here: the other tab then stops.");
    document.body.dataset.ready = "elsewhere";
    offerTakeover(name);
    return;
  }
  await start(name);
}

boot();
