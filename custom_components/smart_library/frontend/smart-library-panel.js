// Smart Library: the administrator's panel (sidebar item "Library admin", administrators only).
//
// Served by the integration (custom_components/smart_library/panel/registration.py) and
// registered with `require_admin`: Home Assistant offers it to administrators only, and every
// command and action it uses refuses anybody else anyway. Plain modern JavaScript, no build step.
//
// What it reads: the integration's admin-only websocket commands (smart_library/panel/...) and
// its listing actions (list_members, list_staff_cards, list_reader_keys). What it changes, it
// changes through the integration's own admin actions (call_service over the websocket: the same
// admin check and the same redaction wrapper as any other caller), and the weekly plan through the
// branch's own Reconfigure › Opening hours flow. No answer holds a full card number or a PIN:
// members are shown masked and acted on by the reference the listing gives. A reader key is shown
// once, right after it is made, and forgotten when that box is closed.
//
// Text from the store (names, reasons, incident texts) is only ever set as text, never as HTML.

const DOMAIN = "smart_library";
const ELEMENT = "smart-library-panel";
const WS = {
  overview: `${DOMAIN}/panel/overview`,
  phones: `${DOMAIN}/panel/phones`,
  hours: `${DOMAIN}/panel/hours`,
  incidents: `${DOMAIN}/panel/incidents`,
  usage: `${DOMAIN}/panel/usage`,
};
const SECTIONS = [
  ["members", "Members"],
  ["import", "Import"],
  ["staff", "Staff cards"],
  ["keys", "Reader keys"],
  ["oncall", "On-call phones"],
  ["hours", "Opening hours"],
  ["incidents", "Incidents"],
  ["usage", "Usage"],
];
// What the door would answer a member with the right PIN now (list_members' `door`).
const STANDING = {
  granted: ["May enter", "ok"],
  no_pin_set: ["No PIN set", "warn"],
  locked_out: ["Locked out", "bad"],
  under_16: ["Under 16: with an adult only", "info"],
  induction_needed: ["Induction needed", "warn"],
  induction_outdated: ["New induction needed after renewal", "warn"],
  card_expired: ["Card expired", "bad"],
  barred: ["Barred", "bad"],
  final_warning: ["Final warning", "warn"],
};
const MODES = {
  staffed: "Staffed",
  smart: "Smart (self-access)",
  event: "Event",
  closed: "Closed",
};
const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const ROLES = { staff: "Staff", cleaner: "Cleaner", security: "Security", contractor: "Contractor" };

// -- small helpers -----------------------------------------------------------------------------

// Build an element: h("div", {class: "x", onclick: fn, text: "…"}, child, …). Strings are text.
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") el.textContent = String(value);
    else if (key === "class") el.className = value;
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key in el && !["list", "form", "type", "for"].includes(key)) el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const todayIso = () => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
};
const addDays = (iso, days) => {
  const d = new Date(`${iso}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
};
const errorText = (err) =>
  String((err && (err.message || err.body?.message || err.code)) || err || "Something went wrong")
    .replace(/^Validation error: /, "");
const plural = (n, one, many) => `${n} ${n === 1 ? one : many ?? `${one}s`}`;

// -- the panel ---------------------------------------------------------------------------------

class SmartLibraryPanel extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this._section = "members";
    this._overview = null;
    this._entry = null; // the library service shown
    this._narrow = false;
    this._members = null; // the last list_members answer
    this._search = { card: undefined, name: undefined };
    this._report = null; // the last import report
    this._newKey = null; // a key just made: shown once, then dropped
    this._hoursBranch = null;
    this._incidentStatus = "open";
    this._usage = null;
    this._period = { preset: "7", start: addDays(todayIso(), -6), end: todayIso() };
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (first) this._start();
  }

  get hass() {
    return this._hass;
  }

  set narrow(narrow) {
    if (this._narrow === narrow) return;
    this._narrow = narrow;
    if (this._hass) this._renderBar();
  }

  set panel(_panel) {}

  set route(_route) {}

  // -- plumbing --------------------------------------------------------------------------------

  async _start() {
    this._renderShell();
    try {
      this._overview = await this._hass.callWS({ type: WS.overview });
    } catch (err) {
      this._fatal(`Smart Library did not answer: ${errorText(err)}`);
      return;
    }
    const services = this._overview.services;
    this._entry = services.length ? services[0].entry_id : null;
    this._renderBar();
    this._show(this._section);
  }

  _service() {
    return this._overview?.services.find((s) => s.entry_id === this._entry) || null;
  }

  // Call one of the integration's actions (admin-only ones refuse non-admins themselves).
  async _call(service, data, response = true) {
    const result = await this._hass.callWS({
      type: "call_service",
      domain: DOMAIN,
      service,
      service_data: data,
      return_response: response,
    });
    return response ? result.response : null;
  }

  _toast(message, kind = "ok") {
    const box = this.shadowRoot.getElementById("toast");
    if (!box) return;
    box.replaceChildren(h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status", text: message }));
    clearTimeout(this._toastTimer);
    this._toastTimer = setTimeout(() => box.replaceChildren(), kind === "error" ? 12000 : 6000);
  }

  _fatal(message) {
    const main = this.shadowRoot.getElementById("main");
    if (main) main.replaceChildren(h("p", { class: "notice bad", role: "alert", text: message }));
  }

  // The page: header (bar and sections), messages, the section shown. Built once.
  _renderShell() {
    const nav = h(
      "nav",
      { "aria-label": "Sections" },
      SECTIONS.map(([id, label]) =>
        h("button", {
          class: id === this._section ? "tab active" : "tab",
          "aria-current": id === this._section ? "page" : null,
          text: label,
          onclick: () => this._show(id),
        }),
      ),
    );
    this.shadowRoot.replaceChildren(
      h("style", { text: STYLE }),
      h("header", {}, h("div", { id: "bar", class: "bar" }), nav),
      h("div", { id: "toast", class: "toasts", "aria-live": "polite" }),
      h("main", { id: "main" }, h("p", { class: "muted", text: "Loading…" })),
    );
    this._renderBar();
  }

  // The top bar: the sidebar button on a narrow screen, the title, the service picker.
  _renderBar() {
    const bar = this.shadowRoot.getElementById("bar");
    if (!bar) return;
    const services = this._overview?.services || [];
    const menu = this._narrow
      ? h(
          "button",
          {
            class: "menu",
            title: "Show the sidebar",
            "aria-label": "Show the sidebar",
            onclick: () =>
              this.dispatchEvent(new Event("hass-toggle-menu", { bubbles: true, composed: true })),
          },
          "☰",
        )
      : null;
    const picker =
      services.length > 1
        ? h(
            "label",
            { class: "service" },
            h("span", { text: "Library service" }),
            h(
              "select",
              {
                "aria-label": "Library service",
                onchange: (ev) => {
                  this._entry = ev.target.value;
                  this._members = null;
                  this._newKey = null;
                  this._hoursBranch = null;
                  this._show(this._section);
                },
              },
              services.map((s) =>
                h("option", { value: s.entry_id, selected: s.entry_id === this._entry, text: s.title }),
              ),
            ),
          )
        : services.length === 1
          ? h("span", { class: "service-name", text: services[0].title })
          : null;
    bar.replaceChildren(...[menu, h("h1", { text: "Library administration" }), picker].filter(Boolean));
  }

  async _show(section) {
    if (section !== this._section) {
      this._newKey = null; // a key is shown once
      this.shadowRoot.getElementById("toast")?.replaceChildren(); // about the section left
    }
    this._section = section;
    for (const tab of this.shadowRoot.querySelectorAll("nav .tab")) {
      const active = tab.textContent === SECTIONS.find(([id]) => id === section)[1];
      tab.classList.toggle("active", active);
      if (active) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
    const main = this.shadowRoot.getElementById("main");
    if (!this._service() && section !== "usage") {
      main.replaceChildren(
        h("p", {
          class: "notice",
          text: "No library service is set up yet: add one under Settings › Devices & services › Add integration › Smart Library.",
        }),
      );
      return;
    }
    main.replaceChildren(h("p", { class: "muted", text: "Loading…" }));
    try {
      const content = await this[`_section_${section}`]();
      if (this._section === section) main.replaceChildren(content);
    } catch (err) {
      if (this._section === section) {
        main.replaceChildren(h("p", { class: "notice bad", role: "alert", text: errorText(err) }));
      }
    }
  }

  _refresh() {
    return this._show(this._section);
  }

  // A modal form: fields [{name, label, type, value, required, options, help, ...}]; `submit`
  // gets the values; an error it throws is shown in the dialog, which stays open.
  _dialog(title, fields, submitLabel, submit, intro) {
    const dialog = h("dialog", { class: "dialog", "aria-label": title });
    const error = h("p", { class: "error", role: "alert" });
    const inputs = {};
    const form = h(
      "form",
      { method: "dialog" },
      h("h2", { text: title }),
      intro ? h("p", { class: "muted", text: intro }) : null,
      fields.map((f) => {
        const input = this._input(f);
        inputs[f.name] = input;
        return h(
          "label",
          { class: f.type === "checkbox" ? "field check" : "field" },
          h("span", { text: f.label }),
          input,
          f.help ? h("small", { text: f.help }) : null,
        );
      }),
      error,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "secondary", text: "Cancel", onclick: () => dialog.close() }),
        h("button", { type: "submit", class: "primary", text: submitLabel }),
      ),
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      const values = {};
      for (const [name, input] of Object.entries(inputs)) {
        values[name] = input.type === "checkbox" ? input.checked : input.value.trim();
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        await submit(values);
        dialog.close();
      } catch (err) {
        error.textContent = errorText(err);
      } finally {
        button.disabled = false;
      }
    });
    dialog.append(form);
    dialog.addEventListener("close", () => dialog.remove());
    this.shadowRoot.append(dialog);
    dialog.showModal();
    const first = fields.length ? inputs[fields[0].name] : null;
    if (first) first.focus();
    return dialog;
  }

  _input(f) {
    if (f.type === "select") {
      return h(
        "select",
        { name: f.name, required: f.required },
        f.options.map(([value, label]) => h("option", { value, selected: value === f.value, text: label })),
      );
    }
    if (f.type === "textarea") {
      return h("textarea", { name: f.name, required: f.required, rows: f.rows || 4, value: f.value ?? "" });
    }
    const input = h("input", {
      name: f.name,
      type: f.type || "text",
      required: f.required,
      value: f.value ?? "",
      placeholder: f.placeholder,
      autocomplete: f.autocomplete || "off",
      inputmode: f.inputmode,
      min: f.min,
      max: f.max,
    });
    if (f.type === "checkbox") input.checked = Boolean(f.value);
    return input;
  }

  _date(iso) {
    if (!iso) return "";
    const [y, m, d] = iso.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString(this._locale(), {
      day: "numeric",
      month: "short",
      year: "numeric",
      timeZone: "UTC",
    });
  }

  _time(iso, withDate = true) {
    if (!iso) return "";
    const options = { hour: "2-digit", minute: "2-digit", timeZone: this._hass.config.time_zone };
    if (withDate) Object.assign(options, { day: "numeric", month: "short", year: "numeric" });
    return new Date(iso).toLocaleString(this._locale(), options);
  }

  _locale() {
    return this._hass.locale?.language || this._hass.language || "en-GB";
  }

  _download(name, text) {
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    const link = h("a", { href: url, download: name, hidden: true });
    this.shadowRoot.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 5000);
  }

  _section_head(title, text, ...extra) {
    return h("div", { class: "head" }, h("div", {}, h("h2", { text: title }), text ? h("p", { class: "muted", text }) : null), extra);
  }

  // -- members ---------------------------------------------------------------------------------

  async _section_members() {
    const query = h("input", {
      type: "search",
      name: "query",
      "aria-label": "Card number, its last digits, or a name",
      placeholder: "Card number, its last digits, or a name",
      value: this._search.card ?? this._search.name ?? "",
      autocomplete: "off",
    });
    const form = h(
      "form",
      { class: "search", role: "search" },
      query,
      h("button", { type: "submit", class: "primary", text: "Find" }),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = query.value.trim();
      // Digits: a card number or its end (sent as a card, which is masked wherever recorded).
      this._search = /\d/.test(text) ? { card: text, name: undefined } : { card: undefined, name: text || undefined };
      this._members = null;
      this._refresh();
    });
    if (!this._members) {
      const data = { config_entry_id: this._entry, limit: 50 };
      if (this._search.card) data.card = this._search.card;
      if (this._search.name) data.name = this._search.name;
      this._members = await this._call("list_members", data);
    }
    const { members, total } = this._members;
    const searched = this._search.card || this._search.name;
    const summary =
      total === 0
        ? searched
          ? "No member matches."
          : "No members yet: enroll one, or import your library system's CSV export."
        : `${plural(total, "member")}${searched ? " found" : ""}${total > members.length ? `, the first ${members.length} shown` : ""}.`;
    return h(
      "section",
      {},
      this._section_head(
        "Members",
        "Find a member by card or name. Cards are shown masked; every change is an administrator's action.",
        h("button", { class: "primary", text: "Enroll a member", onclick: () => this._enroll() }),
      ),
      form,
      h("p", { class: "muted", text: summary }),
      h("div", { class: "list" }, members.map((m) => this._memberCard(m))),
    );
  }

  _memberCard(m) {
    // What the door would say now; then whether a PIN is set; then what else stands in the way.
    const chip = (reason) => {
      const [text, tone] = STANDING[reason] || [reason, "info"];
      return h("span", { class: `chip ${tone}`, text });
    };
    const chips = [chip(m.door)];
    if (m.pin_set) chips.push(h("span", { class: "chip ok", text: "PIN set" }));
    else if (m.door !== "no_pin_set") chips.push(chip("no_pin_set"));
    if (m.door !== m.eligibility && m.eligibility !== "granted") chips.push(chip(m.eligibility));
    const lines = [
      ["Card expires", this._date(m.card_expiry)],
      ["Induction", m.induction_date ? this._date(m.induction_date) : "not done"],
    ];
    if (m.renewed_on) lines.push(["Card renewed", this._date(m.renewed_on)]);
    if (m.locked_until) lines.push(["Locked out until", this._time(m.locked_until)]);
    if (m.restriction === "barred") {
      lines.push(["Barred", `since ${this._date(m.restriction_date)}, review ${this._date(m.review_date)}`]);
    }
    if (m.restriction === "final_warning") lines.push(["Final warning", `since ${this._date(m.restriction_date)}`]);
    if (m.restriction_reason) lines.push(["Reason given", m.restriction_reason]);
    const who = `${m.name || "(no name)"} (${m.card})`;
    const act = (label, handler, kind = "secondary") => h("button", { class: kind, text: label, onclick: handler });
    const actions = [
      act(m.pin_set ? "Reset PIN" : "Set PIN", () => this._setPin(m, who), m.pin_set ? "secondary" : "primary"),
      act("Record induction", () =>
        this._dialog(`Record the induction of ${who}`, [{ name: "date", label: "Induction done on", type: "date", value: todayIso(), max: todayIso(), required: true }], "Record", async (v) => {
          await this._call("record_induction", { config_entry_id: this._entry, card: m.ref, date: v.date });
          this._done(`Induction recorded for ${m.card}.`);
        }),
      ),
      act("Renew card", () =>
        this._dialog(`Renew the card of ${who}`, [{ name: "card_expiry", label: "New expiry", type: "date", value: addDays(todayIso(), 365), required: true }], "Renew", async (v) => {
          await this._call("renew_card", { config_entry_id: this._entry, card: m.ref, card_expiry: v.card_expiry });
          this._done(`Card ${m.card} renewed: a new induction is needed before the next self-access visit.`);
        }, "After a renewal the member needs a new induction (the induction rule of the seeds)."),
      ),
    ];
    if (m.locked_until) {
      actions.push(
        act("Unlock", () =>
          this._dialog(`Unlock ${who}?`, [], "Unlock", async () => {
            await this._call("unlock_card", { config_entry_id: this._entry, card: m.ref });
            this._done(`Card ${m.card} unlocked.`);
          }, "The card was locked out after wrong PINs. Unlocking lets the member try again now."),
        ),
      );
    }
    if (m.restriction === "barred") {
      actions.push(
        act("Keep bar", () =>
          this._dialog(`Keep the bar of ${who}`, [{ name: "review_date", label: "Next review", type: "date", value: addDays(todayIso(), 90), required: true }], "Keep barred", async (v) => {
            await this._call("keep_ban", { config_entry_id: this._entry, card: m.ref, review_date: v.review_date });
            this._done(`Bar kept for ${m.card}, next review ${this._date(v.review_date)}.`);
          }),
        ),
        act("Lift bar", () =>
          this._dialog(`Lift the bar of ${who}`, [{ name: "agreement_date", label: "Acceptable-behaviour agreement signed on", type: "date", value: todayIso(), max: todayIso(), required: true }], "Lift bar", async (v) => {
            await this._call("lift_ban", { config_entry_id: this._entry, card: m.ref, agreement_date: v.agreement_date });
            this._done(`Bar lifted for ${m.card}.`);
          }),
        ),
      );
    } else {
      actions.push(
        act("Bar", () =>
          this._dialog(`Bar ${who}`, [
            { name: "reason", label: "Reason", type: "textarea", rows: 2, required: true },
            { name: "review_date", label: "Review on", type: "date", value: addDays(todayIso(), 90), required: true },
          ], "Bar", async (v) => {
            await this._call("bar_member", { config_entry_id: this._entry, card: m.ref, reason: v.reason, review_date: v.review_date });
            this._done(`${m.card} barred until the review on ${this._date(v.review_date)}.`);
          }, "A barred member's card opens no door until the bar is lifted."),
          "danger",
        ),
      );
      if (m.restriction === "final_warning") {
        actions.push(
          act("Lift warning", () =>
            this._dialog(`Lift the final warning of ${who}?`, [], "Lift warning", async () => {
              const answer = await this._call("lift_restriction", { config_entry_id: this._entry, card: m.ref });
              this._done(`Final warning lifted for ${m.card}${answer?.eligibility === "locked_out" ? " (the card is still locked out after wrong PINs)" : ""}.`);
            }),
          ),
        );
      } else {
        actions.push(
          act("Final warning", () =>
            this._dialog(`Final warning for ${who}`, [{ name: "reason", label: "Reason", type: "textarea", rows: 2 }], "Give final warning", async (v) => {
              await this._call("issue_final_warning", { config_entry_id: this._entry, card: m.ref, reason: v.reason });
              this._done(`Final warning given to ${m.card}: self-access stops until it is lifted.`);
            }),
          ),
        );
      }
    }
    return h(
      "article",
      { class: "item member", "data-card": m.card },
      h("div", { class: "title" }, h("h3", { text: m.name || "(no name)" }), h("span", { class: "mono", text: m.card })),
      h("div", { class: "chips" }, chips),
      h("dl", {}, lines.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])),
      h("div", { class: "actions" }, actions),
    );
  }

  _done(message) {
    this._members = null;
    this._toast(message);
    return this._refresh();
  }

  _setPin(m, who) {
    this._dialog(
      `${m.pin_set ? "Reset" : "Set"} the PIN of ${who}`,
      [
        { name: "pin", label: "New PIN", type: "password", inputmode: "numeric", autocomplete: "new-password", required: true, help: "4 to 8 digits. Stored only as a salted, peppered hash; never shown again." },
        { name: "again", label: "The same PIN again", type: "password", inputmode: "numeric", autocomplete: "new-password", required: true },
      ],
      "Save PIN",
      async (v) => {
        if (v.pin !== v.again) throw new Error("The two PINs differ.");
        await this._call("set_pin", { config_entry_id: this._entry, card: m.ref, pin: v.pin });
        this._done(`PIN set for ${m.card}${m.locked_until ? "; the lock-out is lifted" : ""}.`);
      },
    );
  }

  _enroll() {
    this._dialog(
      "Enroll a member",
      [
        { name: "card", label: "Card number", required: true, inputmode: "text" },
        { name: "name", label: "Name" },
        { name: "birth_date", label: "Birth date", type: "date", required: true, max: todayIso() },
        { name: "card_expiry", label: "Card expiry", type: "date", required: true, value: addDays(todayIso(), 365) },
        { name: "induction_date", label: "Induction done on (empty: not yet)", type: "date", max: todayIso() },
        { name: "pin", label: "PIN (empty: set it later)", type: "password", inputmode: "numeric", autocomplete: "new-password" },
      ],
      "Enroll",
      async (v) => {
        const data = { config_entry_id: this._entry, card: v.card, name: v.name, birth_date: v.birth_date, card_expiry: v.card_expiry };
        if (v.induction_date) data.induction_date = v.induction_date;
        if (v.pin) data.pin = v.pin;
        const answer = await this._call("enroll_member", data);
        // Show the new member: found by the digits the masked card shows.
        const shown = answer.card.replace(/^•+/, "");
        this._search = { card: shown, name: undefined };
        this._done(`Enrolled ${answer.card}${v.pin ? "" : ": set a PIN before they can enter"}.`);
      },
      "Smart access is for members aged 16 and over, inducted, with a card in date. The card number is sent to the enroll action and shown masked from then on.",
    );
  }

  // -- CSV import ------------------------------------------------------------------------------

  async _section_import() {
    const text = h("textarea", {
      name: "csv",
      rows: 8,
      "aria-label": "CSV text",
      placeholder: "barcode,name,date_of_birth,expiry,induction\n21234000000001,Ann Reader,1971-02-14,2028-01-31,2026-05-01",
    });
    const file = h("input", {
      type: "file",
      accept: ".csv,text/csv,text/plain",
      "aria-label": "CSV file",
      onchange: async () => {
        if (file.files?.[0]) text.value = await file.files[0].text();
      },
    });
    const form = h(
      "form",
      { class: "stack" },
      h("label", { class: "field" }, h("span", { text: "A CSV file from your library management system" }), file),
      h("label", { class: "field" }, h("span", { text: "… or paste its text" }), text),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: "Import" })),
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!text.value.trim()) {
        this._toast("Choose a file or paste the CSV first.", "error");
        return;
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        this._report = await this._call("import_members", { config_entry_id: this._entry, csv: text.value });
        text.value = "";
        this._members = null;
        this._refresh();
      } catch (err) {
        this._toast(errorText(err), "error");
      } finally {
        button.disabled = false;
      }
    });
    const report = this._report;
    return h(
      "section",
      {},
      this._section_head(
        "Import members",
        "Columns such as barcode, name, date of birth, expiry, induction, status (active, barred, warning) and review date. A later expiry than the one stored is a card renewal (a new induction is then needed). The CSV has no PIN column: imported members need a PIN set before they can enter.",
      ),
      form,
      report
        ? h(
            "div",
            { class: "report", role: "status" },
            h("h3", { text: "Import report" }),
            h("p", {
              text: `${plural(report.taken, "row")} taken (${report.added} added, ${report.updated} updated); ${plural(report.refused.length, "row")} refused.`,
            }),
            report.refused.length
              ? h(
                  "table",
                  {},
                  h("thead", {}, h("tr", {}, h("th", { text: "Row" }), h("th", { text: "Card" }), h("th", { text: "Why" }))),
                  h(
                    "tbody",
                    {},
                    report.refused.map((r) =>
                      h("tr", {}, h("td", { text: r.row }), h("td", { class: "mono", text: r.card }), h("td", { text: r.message || r.reason })),
                    ),
                  ),
                )
              : null,
          )
        : null,
    );
  }

  // -- staff and contractor cards -------------------------------------------------------------

  async _section_staff() {
    const { staff_cards: cards } = await this._call("list_staff_cards", { config_entry_id: this._entry });
    const service = this._service();
    return h(
      "section",
      {},
      this._section_head(
        "Staff and contractor cards",
        "Cards of staff, cleaners, security and contractors open the doors in their own time windows, whatever the opening hours.",
        h("button", { class: "primary", text: "Add a card", onclick: () => this._addStaff(service) }),
      ),
      cards.length ? null : h("p", { class: "muted", text: "No staff or contractor cards yet." }),
      h(
        "div",
        { class: "list" },
        cards.map((c) =>
          h(
            "article",
            { class: "item" },
            h("div", { class: "title" }, h("h3", { text: c.name }), h("span", { class: "mono", text: c.card })),
            h("div", { class: "chips" }, h("span", { class: "chip info", text: ROLES[c.role] || c.role })),
            h(
              "dl",
              {},
              h("dt", { text: "Windows" }),
              h("dd", { text: c.windows.join("; ") }),
              h("dt", { text: "Branches" }),
              h("dd", { text: c.branches.length ? c.branches.join(", ") : "every branch" }),
            ),
            h(
              "div",
              { class: "actions" },
              h("button", {
                class: "danger",
                text: "Remove",
                onclick: () =>
                  this._dialog(`Remove the card of ${c.name} (${c.card})?`, [], "Remove", async () => {
                    await this._call("remove_staff_card", { config_entry_id: this._entry, card: c.ref });
                    this._toast(`Card ${c.card} removed: it opens no door any more.`);
                    this._refresh();
                  }),
              }),
            ),
          ),
        ),
      ),
    );
  }

  _addStaff(service) {
    const roles = (this._overview.roles || Object.keys(ROLES)).map((r) => [r, ROLES[r] || r]);
    const fields = [
      { name: "card", label: "Card number", required: true },
      { name: "name", label: "Name", required: true },
      { name: "role", label: "Role", type: "select", options: roles, value: roles[0][0] },
      { name: "windows", label: "Time windows", required: true, placeholder: "mon-fri 06:00-08:00; sat 07:00-09:00", help: "Days and times, separated by ';'. A window may pass midnight (22:00-06:00)." },
      { name: "pin", label: "PIN", type: "password", inputmode: "numeric", autocomplete: "new-password", required: true },
      ...service.branches.map((b) => ({ name: `branch:${b.device_id}`, label: `Only at ${b.title}`, type: "checkbox" })),
    ];
    this._dialog("Add a staff or contractor card", fields, "Add card", async (v) => {
      const branches = Object.entries(v).filter(([k, on]) => k.startsWith("branch:") && on).map(([k]) => k.slice(7));
      const answer = await this._call("add_staff_card", {
        config_entry_id: this._entry,
        card: v.card,
        name: v.name,
        role: v.role,
        windows: v.windows,
        pin: v.pin,
        branches,
      });
      this._toast(`Card ${answer.card} added: ${answer.windows.join("; ")}.`);
      this._refresh();
    }, "No branch ticked: the card opens the doors of every branch of the service.");
  }

  // -- reader keys -------------------------------------------------------------------------------

  async _section_keys() {
    const service = this._service();
    const { reader_keys: keys } = await this._call("list_reader_keys", { config_entry_id: this._entry });
    const shown = this._newKey
      ? h(
          "div",
          { class: "newkey", role: "status" },
          h("h3", { text: `Reader key "${this._newKey.name}" — shown once` }),
          h("p", { text: "Copy it now into the reader's configuration: it is never shown again. Lost, it is revoked and a new one made." }),
          h(
            "div",
            { class: "keyline" },
            h("code", { class: "key", text: this._newKey.key }),
            h("button", {
              class: "primary",
              text: "Copy",
              onclick: async (ev) => {
                try {
                  await navigator.clipboard.writeText(this._newKey.key);
                  ev.target.textContent = "Copied";
                } catch {
                  const range = document.createRange();
                  range.selectNodeContents(this.shadowRoot.querySelector(".newkey .key"));
                  const selection = window.getSelection();
                  selection.removeAllRanges();
                  selection.addRange(range);
                  this._toast("Copying is not allowed here: the key is selected, copy it by hand.", "error");
                }
              },
            }),
          ),
          h("p", { class: "muted", text: `The reader sends it in the ${this._newKey.header} header to /api/smart_library/access.` }),
          h("div", { class: "actions" }, h("button", { class: "secondary", text: "Done: I have copied it", onclick: () => { this._newKey = null; this._refresh(); } })),
        )
      : null;
    return h(
      "section",
      {},
      this._section_head(
        "Reader keys",
        "Each door reader or kiosk has a key of its own, for one branch and the doors named: it can ask for a decision and nothing else.",
        h("button", { class: "primary", text: "Make a key", onclick: () => this._makeKey(service) }),
      ),
      shown,
      keys.length ? null : h("p", { class: "muted", text: "No reader keys yet." }),
      h(
        "div",
        { class: "list" },
        keys.map((k) =>
          h(
            "article",
            { class: `item key-item${k.revoked ? " revoked" : ""}`, "data-key": k.id },
            h("div", { class: "title" }, h("h3", { text: k.name }), h("span", { class: "mono", text: k.id })),
            h("div", { class: "chips" }, h("span", { class: `chip ${k.revoked ? "bad" : "ok"}`, text: k.revoked ? `Revoked ${this._time(k.revoked)}` : "Active" })),
            h(
              "dl",
              {},
              h("dt", { text: "Branch" }),
              h("dd", { text: k.branch }),
              h("dt", { text: "Doors" }),
              h("dd", { text: k.doors.join(", ") }),
              h("dt", { text: "Made" }),
              h("dd", { text: this._time(k.created) }),
              h("dt", { text: "Last used" }),
              h("dd", { text: k.last_used ? this._time(k.last_used) : "never" }),
            ),
            k.revoked
              ? null
              : h(
                  "div",
                  { class: "actions" },
                  h("button", {
                    class: "danger",
                    text: "Revoke",
                    onclick: () =>
                      this._dialog(`Revoke the key "${k.name}"?`, [], "Revoke", async () => {
                        await this._call("revoke_reader_key", { config_entry_id: this._entry, reader_key: k.id });
                        this._newKey = null;
                        this._toast(`Key "${k.name}" revoked: its reader is refused from now on.`);
                        this._refresh();
                      }, "The reader using it is refused at once. This cannot be undone."),
                  }),
                ),
          ),
        ),
      ),
    );
  }

  _makeKey(service) {
    const branches = service.branches.filter((b) => b.device_id);
    if (!branches.length) {
      this._toast("The service has no branch yet.", "error");
      return;
    }
    const doors = [...new Set(branches.flatMap((b) => b.doors.map((d) => d.id)))];
    const fields = [
      { name: "name", label: "Name (where the reader is)", required: true, placeholder: "Entrance reader" },
      { name: "branch", label: "Branch", type: "select", options: branches.map((b) => [b.device_id, b.title]), value: branches[0].device_id },
      ...doors.map((d, n) => ({ name: `door:${d}`, label: `Door: ${d.replaceAll("_", " ")}`, type: "checkbox", value: n === 0 })),
    ];
    this._dialog("Make a reader key", fields, "Make key", async (v) => {
      const chosen = Object.entries(v).filter(([k, on]) => k.startsWith("door:") && on).map(([k]) => k.slice(5));
      if (!chosen.length) throw new Error("Tick at least one door.");
      const answer = await this._call("create_reader_key", {
        config_entry_id: this._entry,
        name: v.name,
        branch: v.branch,
        doors: chosen,
      });
      this._newKey = { key: answer.key, header: answer.header, name: answer.name };
      this._toast(`Key "${answer.name}" made: copy it now, it is shown once.`);
      this._refresh();
    });
  }

  // -- on-call phones ------------------------------------------------------------------------------

  async _section_oncall() {
    const answer = await this._hass.callWS({ type: WS.phones });
    const settings = answer.services.find((s) => s.entry_id === this._entry);
    const phones = answer.phones;
    const [low, high] = answer.escalation_range;
    const rows = phones.map((p) =>
      h(
        "tr",
        {},
        h("td", { text: p.name }),
        h("td", {}, h("input", { type: "checkbox", name: "on_call", value: p.device_id, checked: settings.on_call.includes(p.device_id), "aria-label": `${p.name} on call` })),
        h("td", {}, h("input", { type: "checkbox", name: "escalation", value: p.device_id, checked: settings.escalation.includes(p.device_id), "aria-label": `${p.name} escalation` })),
      ),
    );
    const minutes = h("input", { type: "number", name: "minutes", min: low, max: high, value: settings.escalation_minutes, required: true });
    const form = h(
      "form",
      { class: "stack" },
      h(
        "div",
        { class: "scroll" },
        h("table", {}, h("thead", {}, h("tr", {}, h("th", { text: "Phone" }), h("th", { text: "On call" }), h("th", { text: "Escalation" }))), h("tbody", {}, rows)),
      ),
      h("label", { class: "field" }, h("span", { text: "Escalate after (minutes without an answer)" }), minutes),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: "Save" })),
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const ticked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
      try {
        await this._call("set_on_call", {
          config_entry_id: this._entry,
          phones: ticked("on_call"),
          escalation_phones: ticked("escalation"),
          escalation_minutes: Number(minutes.value),
        });
        this._toast("On-call phones saved.");
        this._refresh();
      } catch (err) {
        this._toast(errorText(err), "error");
      }
    });
    const names = (ids) => ids.map((id) => phones.find((p) => p.device_id === id)?.name || "a phone no longer registered").join(", ");
    return h(
      "section",
      {},
      this._section_head(
        "On-call and escalation phones",
        "Lockdowns, panic buttons, forced doors and fire alarms alert the on-call phones at once, and the escalation phones when nobody answers in time.",
      ),
      settings.on_call.length
        ? h("p", { text: `On call now: ${names(settings.on_call)}${settings.escalation.length ? `; escalation: ${names(settings.escalation)}` : ""}.` })
        : h("p", { class: "notice bad", role: "alert", text: "Nobody is on call: alarms alert no phone. Choose at least one." }),
      phones.length
        ? form
        : h("p", { class: "notice", text: "No phone has the Home Assistant companion app yet: install it on the duty phones and log in; they appear here." }),
    );
  }

  // -- opening hours ---------------------------------------------------------------------------

  async _section_hours() {
    const { branches } = await this._hass.callWS({ type: WS.hours, config_entry_id: this._entry });
    if (!branches.length) return h("p", { class: "notice", text: "The service has no branch yet." });
    const branch = branches.find((b) => b.id === this._hoursBranch) || branches[0];
    this._hoursBranch = branch.id;
    const picker = h(
      "select",
      { "aria-label": "Branch", onchange: (ev) => { this._hoursBranch = ev.target.value; this._refresh(); } },
      branches.map((b) => h("option", { value: b.id, selected: b.id === branch.id, text: b.title })),
    );
    const now = [`Now: ${MODES[branch.mode] || branch.mode}`];
    if (branch.closes_at) now.push(`closes ${this._time(branch.closes_at)}`);
    if (branch.next_change) now.push(`next: ${MODES[branch.next_change.mode] || branch.next_change.mode} from ${this._time(branch.next_change.at)}`);
    if (branch.override !== "automatic") now.push(`mode set by hand: ${MODES[branch.override] || branch.override}`);
    return h(
      "section",
      {},
      this._section_head("Opening hours", "The weekly plan, holidays and changed days, events, and today's changes, per branch.", h("label", { class: "inline" }, h("span", { text: "Branch" }), picker)),
      h("p", { class: "now", text: now.join(" · ") }),
      this._weekEditor(branch),
      this._cover(branch),
      this._today(branch),
      this._exceptions(branch),
      this._events(branch),
    );
  }

  _weekEditor(branch) {
    const week = structuredClone(branch.week);
    const errors = h("div", { class: "error", role: "alert" });
    const body = h("div", { class: "week" });
    const draw = () => {
      body.replaceChildren(
        ...WEEKDAYS.map((day) =>
          h(
            "div",
            { class: "day", "data-day": day },
            h("div", { class: "dayname", text: day[0].toUpperCase() + day.slice(1) }),
            h(
              "div",
              { class: "periods" },
              week[day].length ? null : h("span", { class: "muted", text: "Closed" }),
              week[day].map((p, n) =>
                h(
                  "div",
                  { class: `period ${p.mode}` },
                  h("input", { type: "time", value: p.start, "aria-label": `${day} period ${n + 1} from`, onchange: (ev) => { p.start = ev.target.value; } }),
                  h("span", { text: "–" }),
                  h("input", { type: "time", value: p.end, "aria-label": `${day} period ${n + 1} to`, onchange: (ev) => { p.end = ev.target.value; } }),
                  h(
                    "select",
                    { "aria-label": `${day} period ${n + 1} mode`, onchange: (ev) => { p.mode = ev.target.value; } },
                    ["staffed", "smart"].map((m) => h("option", { value: m, selected: p.mode === m, text: MODES[m] })),
                  ),
                  h("button", { type: "button", class: "icon", title: "Remove this period", "aria-label": "Remove this period", text: "✕", onclick: () => { week[day].splice(n, 1); draw(); } }),
                ),
              ),
              h("button", {
                type: "button",
                class: "secondary small",
                text: "+ period",
                onclick: () => {
                  const last = week[day][week[day].length - 1];
                  week[day].push({ start: last ? last.end : "09:00", end: last ? branch.latest_smart_end : "17:00", mode: "smart" });
                  draw();
                },
              }),
            ),
          ),
        ),
      );
    };
    draw();
    const latest = h("input", { type: "time", value: branch.latest_smart_end, required: true });
    const clearance = h("input", { type: "number", min: 0, max: 120, value: branch.clearance_minutes, required: true });
    const free = branch.doors.map((d) => h("input", { type: "checkbox", value: d, checked: branch.staffed_free_entry.includes(d) }));
    // Staffed cover nearby: the branches (of any service) that should be staffed while this one is smart.
    const choices = branch.cover.neighbour_choices;
    const near = choices.map((c) => h("input", { type: "checkbox", value: c.id, checked: branch.cover.neighbours.includes(c.id) }));
    const nearLabel = (c) => (c.service === branch.service ? c.title : `${c.title} (${c.service})`);
    const form = h(
      "form",
      { class: "stack" },
      body,
      h(
        "div",
        { class: "row" },
        h("label", { class: "field" }, h("span", { text: "Smart hours end at the latest" }), latest),
        h("label", { class: "field" }, h("span", { text: "Clearance between staffed and smart (minutes)" }), clearance),
      ),
      h(
        "fieldset",
        {},
        h("legend", { text: "Doors free to enter in staffed hours" }),
        branch.doors.map((d, n) => h("label", { class: "check" }, free[n], h("span", { text: d.replaceAll("_", " ") }))),
      ),
      choices.length
        ? h(
            "fieldset",
            { class: "neighbours" },
            h("legend", { text: "Neighbours: staffed while this branch is smart" }),
            choices.map((c, n) => h("label", { class: "check" }, near[n], h("span", { text: nearLabel(c) }))),
          )
        : null,
      errors,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: "Save weekly plan" })),
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      errors.replaceChildren();
      const input = {
        latest_smart_end: latest.value,
        clearance_minutes: Number(clearance.value),
        staffed_free_entry: free.filter((i) => i.checked).map((i) => i.value),
        neighbours: near.filter((i) => i.checked).map((i) => i.value),
      };
      for (const day of WEEKDAYS) {
        for (const mode of ["staffed", "smart"]) {
          input[`${day}_${mode}`] = week[day]
            .filter((p) => p.mode === mode)
            .sort((a, b) => a.start.localeCompare(b.start))
            .map((p) => `${p.start}-${p.end}`)
            .join(", ");
        }
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const problems = await this._saveWeek(branch, input);
        if (problems.length) {
          errors.replaceChildren(...problems.map((p) => h("p", { text: p })));
          return;
        }
        this._toast(`Weekly plan of ${branch.title} saved.`);
        await this._afterReload(branch);
      } catch (err) {
        errors.replaceChildren(h("p", { text: errorText(err) }));
      } finally {
        button.disabled = false;
      }
    });
    return h("div", { class: "block" }, h("h3", { text: "Weekly plan" }), form);
  }

  // The weekly plan is saved through the branch's own Reconfigure › Opening hours flow (admin).
  async _saveWeek(branch, input) {
    const base = "config/config_entries/subentries/flow";
    const started = await this._hass.callApi("POST", base, {
      handler: [branch.entry_id, "branch"],
      subentry_id: branch.id,
      show_advanced_options: false,
    });
    const flow = started.flow_id;
    let step = started;
    try {
      if (step.type === "menu") step = await this._hass.callApi("POST", `${base}/${flow}`, { next_step_id: "hours" });
      if (step.type !== "form" || step.step_id !== "hours") throw new Error("The opening-hours form did not open.");
      const known = new Set((step.data_schema || []).map((f) => f.name));
      const data = Object.fromEntries(Object.entries(input).filter(([k]) => !known.size || known.has(k)));
      step = await this._hass.callApi("POST", `${base}/${flow}`, data);
      if (step.type === "abort") return [];
      if (step.type === "form") {
        const localize = await this._flowTranslations();
        const detail = step.description_placeholders?.detail;
        return Object.entries(step.errors || {}).map(([field, key]) => {
          const text = localize(`component.${DOMAIN}.config_subentries.branch.error.${key}`, step.description_placeholders || {}) || key.replaceAll("_", " ");
          const where = field === "base" ? "" : `${field.replace("_", " ")}: `;
          return `${where}${text}${detail && field === "base" ? ` (${detail})` : ""}`;
        });
      }
      throw new Error(`The flow ended unexpectedly (${step.type}).`);
    } finally {
      // A form left with errors (or a menu) is still open: close it; a finished flow is gone.
      if (step.type === "form" || step.type === "menu") {
        this._hass.callApi("DELETE", `${base}/${flow}`).catch(() => {});
      }
    }
  }

  async _flowTranslations() {
    try {
      const localize = await this._hass.loadBackendTranslation?.("config_subentries", DOMAIN);
      if (typeof localize === "function") return localize;
    } catch {
      // the message keys are shown instead
    }
    return this._hass.localize;
  }

  // Saving the plan reloads the service: wait until its branch answers again.
  async _afterReload(branch) {
    for (let n = 0; n < 20; n++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      try {
        const { branches } = await this._hass.callWS({ type: WS.hours, config_entry_id: this._entry });
        if (branches.some((b) => b.id === branch.id)) break;
      } catch {
        // still reloading
      }
    }
    return this._refresh();
  }

  // Staffed cover nearby: every smart period of the weeks ahead with no neighbour staffed.
  _cover(branch) {
    const cover = branch.cover;
    const title = h("h3", { text: "Staffed cover nearby" });
    if (!cover.checked) {
      return h(
        "div",
        { class: "block cover", "data-cover": "unchecked" },
        title,
        h("p", { class: "muted", text: "No neighbours named: tick the branches nearby that should be staffed while this one is smart, then save the weekly plan." }),
      );
    }
    const names = cover.neighbour_choices.filter((c) => cover.neighbours.includes(c.id)).map((c) => c.title);
    const intro = `Neighbours: ${names.join(", ")}. The next ${cover.weeks} weeks:`;
    if (!cover.uncovered.length) {
      return h(
        "div",
        { class: "block cover", "data-cover": "covered" },
        title,
        h("p", { class: "muted", text: intro }),
        h("p", { class: "notice ok", role: "status", text: "Every smart period has a staffed library nearby." }),
      );
    }
    return h(
      "div",
      { class: "block cover", "data-cover": "uncovered" },
      title,
      h("p", { class: "muted", text: intro }),
      h("p", {
        class: "notice warn",
        role: "status",
        text: `${plural(cover.uncovered.length, "smart period")} with no neighbour staffed: plan staffed hours at a neighbour for these times, or name another neighbour.`,
      }),
      h(
        "ul",
        { class: "rows uncovered" },
        cover.uncovered.map((u) => h("li", {}, h("span", { class: "when", text: this._day(u.start) }), h("span", { text: this._stretch(u.start, u.end) }))),
      ),
    );
  }

  // "Monday 30 November" in Home Assistant's time zone.
  _day(iso) {
    return new Date(iso).toLocaleDateString(this._locale(), {
      weekday: "long",
      day: "numeric",
      month: "long",
      timeZone: this._hass.config.time_zone,
    });
  }

  // "13:00–17:00" (with the end's day when it is another day).
  _stretch(start, end) {
    const sameDay = this._day(start) === this._day(end);
    const to = sameDay ? this._time(end, false) : `${this._day(end)} ${this._time(end, false)}`;
    return `${this._time(start, false)}–${to}`;
  }

  _today(branch) {
    const until = h("input", { type: "time", "aria-label": "Open until", required: true, value: branch.latest_smart_end });
    const at = h("input", { type: "time", "aria-label": "Close at", required: true });
    const run = (service, data, message) => async (ev) => {
      ev.preventDefault();
      try {
        await this._call(service, { branch: branch.device_id, ...data() }, false);
        this._toast(message);
        this._refresh();
      } catch (err) {
        this._toast(errorText(err), "error");
      }
    };
    const extend = h("form", { class: "inline-form", onsubmit: run("extend_today", () => ({ until: until.value }), `${branch.title} stays open later today.`) }, h("span", { text: "Extend today until" }), until, h("button", { type: "submit", class: "secondary", text: "Extend today" }));
    const early = h("form", { class: "inline-form", onsubmit: run("close_early", () => ({ at: at.value }), `${branch.title} closes early today.`) }, h("span", { text: "Close early at" }), at, h("button", { type: "submit", class: "secondary", text: "Close early" }));
    return h("div", { class: "block" }, h("h3", { text: "Today" }), extend, early);
  }

  _exceptions(branch) {
    const add = () =>
      this._dialog(
        `A holiday or changed day at ${branch.title}`,
        [
          { name: "date", label: "Date", type: "date", required: true, min: todayIso() },
          { name: "label", label: "Label", placeholder: "Christmas Day" },
          { name: "staffed", label: "Staffed hours (empty: none)", placeholder: "09:00-13:00" },
          { name: "smart", label: "Smart hours (empty: none)", placeholder: "13:00-17:00" },
        ],
        "Save",
        async (v) => {
          await this._call("add_exception", { branch: branch.device_id, date: v.date, label: v.label, staffed: v.staffed, smart: v.smart }, false);
          this._toast(`${this._date(v.date)} saved for ${branch.title}.`);
          this._refresh();
        },
        "No hours at all: closed all day (a holiday).",
      );
    const describe = (e) =>
      e.periods.length ? e.periods.map((p) => `${MODES[p.mode]} ${p.start}–${p.end}`).join(", ") : "Closed all day";
    return h(
      "div",
      { class: "block" },
      h("div", { class: "head" }, h("h3", { text: "Holidays and changed days" }), h("button", { class: "secondary", text: "Add a day", onclick: add })),
      branch.exceptions.length ? null : h("p", { class: "muted", text: "None to come." }),
      h(
        "ul",
        { class: "rows" },
        branch.exceptions.map((e) =>
          h(
            "li",
            {},
            h("span", { class: "when", text: this._date(e.date) }),
            h("span", { text: `${e.label ? `${e.label}: ` : ""}${describe(e)}` }),
            h("button", {
              class: "secondary small",
              text: "Remove",
              onclick: async () => {
                try {
                  await this._call("remove_exception", { branch: branch.device_id, date: e.date }, false);
                  this._toast(`${this._date(e.date)} follows the weekly plan again.`);
                  this._refresh();
                } catch (err) {
                  this._toast(errorText(err), "error");
                }
              },
            }),
          ),
        ),
      ),
    );
  }

  _events(branch) {
    const add = () =>
      this._dialog(
        `An event at ${branch.title}`,
        [
          { name: "title", label: "Title", required: true, placeholder: "Author talk" },
          { name: "start", label: "Starts", type: "datetime-local", required: true },
          { name: "end", label: "Ends", type: "datetime-local", required: true },
        ],
        "Add event",
        async (v) => {
          await this._call("add_event", { branch: branch.device_id, title: v.title, start: v.start, end: v.end });
          this._toast(`Event "${v.title}" added.`);
          this._refresh();
        },
        "The branch is open in event mode while it runs; staffed time stays staffed.",
      );
    return h(
      "div",
      { class: "block" },
      h("div", { class: "head" }, h("h3", { text: "Events" }), h("button", { class: "secondary", text: "Add an event", onclick: add })),
      branch.events.length ? null : h("p", { class: "muted", text: "None to come." }),
      h(
        "ul",
        { class: "rows" },
        branch.events.map((e) =>
          h(
            "li",
            {},
            h("span", { class: "when", text: `${this._time(e.start)} – ${this._time(e.end, false)}` }),
            h("span", { text: e.title }),
            h("button", {
              class: "secondary small",
              text: "Remove",
              onclick: async () => {
                try {
                  await this._call("remove_event", { branch: branch.device_id, event_id: e.id }, false);
                  this._toast(`Event "${e.title}" removed.`);
                  this._refresh();
                } catch (err) {
                  this._toast(errorText(err), "error");
                }
              },
            }),
          ),
        ),
      ),
    );
  }

  // -- incidents -------------------------------------------------------------------------------

  async _section_incidents() {
    const data = { type: WS.incidents, config_entry_id: this._entry, limit: 100 };
    if (this._incidentStatus !== "all") data.status = this._incidentStatus;
    const { incidents, total } = await this._hass.callWS(data);
    const filter = h(
      "select",
      { "aria-label": "Which incidents", onchange: (ev) => { this._incidentStatus = ev.target.value; this._refresh(); } },
      [["open", "To review"], ["complete", "Completed"], ["all", "All"]].map(([v, t]) => h("option", { value: v, selected: v === this._incidentStatus, text: t })),
    );
    const exportCsv = async () => {
      try {
        const answer = await this._call("export_incidents", { config_entry_id: this._entry });
        this._download(`incidents-${todayIso()}.csv`, answer.csv);
        this._toast(`${plural(answer.incidents, "incident")} exported.`);
      } catch (err) {
        this._toast(errorText(err), "error");
      }
    };
    return h(
      "section",
      {},
      this._section_head(
        "Incidents",
        "What happened, where and when; completing one records the actions taken and any police reference.",
        h("label", { class: "inline" }, h("span", { text: "Show" }), filter),
        h("button", { class: "secondary", text: "Export CSV", onclick: exportCsv }),
      ),
      h("p", { class: "muted", text: total ? `${plural(total, "incident")}${total > incidents.length ? `, the newest ${incidents.length} shown` : ""}.` : "No incidents here." }),
      h("div", { class: "list" }, incidents.map((i) => this._incidentCard(i))),
    );
  }

  _incidentCard(i) {
    const lines = [
      ["Id", i.id],
      ["When", this._time(i.occurred_at)],
      ["Recorded by", `${i.recorded_by} (${i.source})`],
    ];
    if (i.location) lines.push(["Where", i.location]);
    if (i.description) lines.push(["What happened", i.description]);
    if (i.member_card) lines.push(["Member", i.member_card]);
    if (i.actions_taken) lines.push(["Actions taken", i.actions_taken]);
    if (i.police_reference) lines.push(["Police reference", i.police_reference]);
    if (i.completed_at) lines.push(["Completed", `${this._time(i.completed_at)} by ${i.completed_by}`]);
    return h(
      "article",
      { class: "item", "data-incident": i.id },
      h("div", { class: "title" }, h("h3", { text: `${i.title} — ${i.branch}` })),
      h("div", { class: "chips" }, h("span", { class: `chip ${i.status === "open" ? "warn" : "ok"}`, text: i.status === "open" ? "To review" : "Completed" })),
      h("dl", {}, lines.map(([k, v]) => [h("dt", { text: k }), h("dd", { class: k === "Id" ? "mono" : null, text: v })])),
      i.timeline ? h("details", {}, h("summary", { text: "Timeline" }), h("pre", { text: i.timeline })) : null,
      i.status === "open"
        ? h(
            "div",
            { class: "actions" },
            h("button", {
              class: "primary",
              text: "Complete…",
              onclick: () =>
                this._dialog(
                  `Complete: ${i.title} — ${i.branch}`,
                  [
                    { name: "actions_taken", label: "Actions taken", type: "textarea", rows: 3, required: true, value: i.actions_taken },
                    { name: "police_reference", label: "Police reference (if any)", value: i.police_reference },
                  ],
                  "Complete",
                  async (v) => {
                    await this._call("complete_incident", {
                      config_entry_id: this._entry,
                      incident: i.id,
                      actions_taken: v.actions_taken,
                      police_reference: v.police_reference,
                    });
                    this._toast(`Incident ${i.id} completed.`);
                    this._refresh();
                  },
                  `Recorded ${this._time(i.recorded_at)}; id ${i.id}.`,
                ),
            }),
          )
        : null,
    );
  }

  // -- usage -----------------------------------------------------------------------------------

  async _section_usage() {
    const p = this._period;
    const start = h("input", { type: "date", value: p.start, max: todayIso(), "aria-label": "From", required: true });
    const end = h("input", { type: "date", value: p.end, max: todayIso(), "aria-label": "To", required: true });
    const preset = h(
      "select",
      {
        "aria-label": "Period",
        onchange: () => {
          const today = todayIso();
          if (preset.value === "1") [start.value, end.value] = [today, today];
          else if (preset.value === "7") [start.value, end.value] = [addDays(today, -6), today];
          else if (preset.value === "30") [start.value, end.value] = [addDays(today, -29), today];
          else if (preset.value === "month") [start.value, end.value] = [`${today.slice(0, 8)}01`, today];
          else if (preset.value === "last") {
            const first = `${today.slice(0, 8)}01`;
            const lastDay = addDays(first, -1);
            [start.value, end.value] = [`${lastDay.slice(0, 8)}01`, lastDay];
          }
        },
      },
      [["1", "Today"], ["7", "Last 7 days"], ["30", "Last 30 days"], ["month", "This month"], ["last", "Last month"], ["custom", "Chosen dates"]].map(([v, t]) =>
        h("option", { value: v, selected: v === p.preset, text: t }),
      ),
    );
    for (const input of [start, end]) input.addEventListener("change", () => { preset.value = "custom"; });
    const form = h(
      "form",
      { class: "inline-form" },
      h("label", { class: "inline" }, h("span", { text: "Period" }), preset),
      h("label", { class: "inline" }, h("span", { text: "From" }), start),
      h("label", { class: "inline" }, h("span", { text: "to" }), end),
      h("button", { type: "submit", class: "primary", text: "Show" }),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this._period = { preset: preset.value, start: start.value, end: end.value };
      this._usage = null;
      this._refresh();
    });
    if (!this._usage || this._usage.start !== p.start || this._usage.end !== p.end) {
      this._usage = await this._hass.callWS({ type: WS.usage, start: p.start, end: p.end });
      this._usage.start = p.start;
      this._usage.end = p.end;
    }
    const usage = this._usage;
    const head = this._section_head("Usage", "Entries by mode and age band and refusals, counted at the door and never linked to a person: for planning staffed hours.");
    if (!usage.recorder) {
      return h("section", {}, head, form, h("p", { class: "notice", text: "Usage needs Home Assistant's recorder, which is not running." }));
    }
    const columns = [
      ["entries", "Entries"],
      ["entries_staffed", "Staffed"],
      ["entries_smart", "Smart"],
      ["entries_event", "Event"],
      ["age_under_16", "Under 16"],
      ["age_16_59", "16–59"],
      ["age_60_plus", "60+"],
      ["refusals", "Refused"],
      ["peak_inside", "Most inside"],
    ];
    const row = (service, name, values, cls) =>
      h("tr", { class: cls }, h("td", { text: service }), h("th", { scope: "row", text: name }), columns.map(([k]) => h("td", { class: "num", text: values[k] ?? "–" })));
    const table = h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "usage" },
        h("thead", {}, h("tr", {}, h("th", { text: "Service" }), h("th", { text: "Branch" }), columns.map(([, t]) => h("th", { class: "num", text: t })))),
        h("tbody", {}, usage.branches.map((b) => row(b.service, b.branch, b))),
        h("tfoot", {}, row("", "County total", usage.county, "total")),
      ),
    );
    return h(
      "section",
      {},
      head,
      form,
      h("p", { class: "county", text: `County total, ${this._date(usage.start)} – ${this._date(usage.end)}: ${plural(usage.county.entries, "entry", "entries")}, ${plural(usage.county.refusals, "refusal")}.` }),
      table,
      h(
        "div",
        { class: "actions" },
        h("button", {
          class: "secondary",
          text: "Download CSV",
          onclick: () => this._download(`usage-${usage.start}-to-${usage.end}.csv`, usage.csv),
        }),
      ),
    );
  }
}

const STYLE = `
:host {
  display: block;
  min-height: 100vh;
  background: var(--primary-background-color, #fafafa);
  color: var(--primary-text-color, #212121);
  font-family: var(--ha-font-family-body, Roboto, "Noto Sans", sans-serif);
  font-size: 14px;
  --sl-radius: var(--ha-card-border-radius, 12px);
  --sl-card: var(--card-background-color, #fff);
  --sl-line: var(--divider-color, rgba(0, 0, 0, 0.12));
  --sl-ok: var(--success-color, #2e7d32);
  --sl-warn: var(--warning-color, #b26a00);
  --sl-bad: var(--error-color, #c62828);
  --sl-info: var(--info-color, #0277bd);
}
* { box-sizing: border-box; }
header {
  position: sticky; top: 0; z-index: 2;
  background: var(--app-header-background-color, var(--primary-color, #03a9f4));
  color: var(--app-header-text-color, #fff);
}
.bar { display: flex; align-items: center; gap: 12px; padding: 0 16px; min-height: 56px; flex-wrap: wrap; }
h1 { font-size: 20px; font-weight: 400; margin: 0; flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.menu { background: none; border: none; color: inherit; font-size: 22px; padding: 8px; cursor: pointer; }
.service, .service-name { display: flex; align-items: center; gap: 8px; }
.service select { max-width: 220px; }
nav { display: flex; gap: 4px; overflow-x: auto; padding: 0 8px; scrollbar-width: thin; }
.tab {
  background: none; border: none; color: inherit; opacity: 0.8; padding: 12px; cursor: pointer;
  font: inherit; white-space: nowrap; border-bottom: 3px solid transparent;
}
.tab.active { opacity: 1; border-bottom-color: currentColor; font-weight: 500; }
main { padding: 16px; max-width: 1100px; margin: 0 auto; }
section > * + * { margin-top: 12px; }
.head { display: flex; align-items: flex-start; justify-content: space-between; gap: 12px; flex-wrap: wrap; }
.head > div:first-child { flex: 1 1 320px; }
h2 { font-size: 22px; font-weight: 400; margin: 0 0 4px; }
h3 { font-size: 16px; font-weight: 500; margin: 0; }
.muted { color: var(--secondary-text-color, #727272); margin: 0; }
.notice { padding: 12px 16px; border-radius: var(--sl-radius); background: var(--sl-card); border-left: 4px solid var(--sl-info); }
.notice.bad { border-left-color: var(--sl-bad); }
.notice.warn { border-left-color: var(--sl-warn); }
.notice.ok { border-left-color: var(--sl-ok); }
.list { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 12px; }
.item, .block, .report, .newkey {
  background: var(--sl-card); border-radius: var(--sl-radius); padding: 16px;
  box-shadow: var(--ha-card-box-shadow, 0 1px 3px rgba(0, 0, 0, 0.15));
  border: var(--ha-card-border-width, 0) solid var(--ha-card-border-color, var(--sl-line));
  min-width: 0;
}
.item > * + *, .block > * + * { margin-top: 10px; }
.item.revoked { opacity: 0.7; }
.title { display: flex; justify-content: space-between; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.mono, code, pre { font-family: var(--ha-font-family-code, "Roboto Mono", monospace); }
.chips { display: flex; gap: 6px; flex-wrap: wrap; }
.chip { border-radius: 12px; padding: 2px 10px; font-size: 12px; font-weight: 500; border: 1px solid currentColor; }
.chip.ok { color: var(--sl-ok); }
.chip.warn { color: var(--sl-warn); }
.chip.bad { color: var(--sl-bad); }
.chip.info { color: var(--sl-info); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
dt { color: var(--secondary-text-color, #727272); }
dd { margin: 0; overflow-wrap: anywhere; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; justify-content: flex-end; }
button.primary, button.secondary, button.danger {
  font: inherit; font-weight: 500; border-radius: 18px; padding: 8px 16px; cursor: pointer; border: 1px solid transparent;
}
button.primary { background: var(--primary-color, #03a9f4); color: var(--text-primary-color, #fff); }
button.secondary { background: transparent; color: var(--primary-color, #03a9f4); border-color: var(--sl-line); }
button.danger { background: transparent; color: var(--sl-bad); border-color: var(--sl-bad); }
button.small { padding: 4px 10px; font-size: 12px; }
button.icon { background: none; border: none; color: var(--secondary-text-color); cursor: pointer; font-size: 14px; }
button:disabled { opacity: 0.5; cursor: default; }
input, select, textarea {
  font: inherit; color: var(--primary-text-color, #212121); background: var(--sl-card);
  border: 1px solid var(--sl-line); border-radius: 6px; padding: 8px; min-width: 0; max-width: 100%;
}
textarea { width: 100%; resize: vertical; }
.field { display: flex; flex-direction: column; gap: 4px; }
.field small { color: var(--secondary-text-color, #727272); }
.field.check, label.check { flex-direction: row; align-items: center; gap: 8px; display: flex; }
.inline { display: inline-flex; align-items: center; gap: 6px; }
.search { display: flex; gap: 8px; }
.search input { flex: 1; }
.stack > * + * { margin-top: 12px; }
.row { display: flex; gap: 16px; flex-wrap: wrap; }
.inline-form { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
fieldset { border: 1px solid var(--sl-line); border-radius: 6px; display: flex; gap: 16px; flex-wrap: wrap; }
.week { display: flex; flex-direction: column; gap: 6px; }
.day { display: grid; grid-template-columns: 110px 1fr; gap: 8px; align-items: start; padding: 6px 0; border-bottom: 1px solid var(--sl-line); }
.dayname { font-weight: 500; padding-top: 8px; }
.periods { display: flex; flex-direction: column; gap: 6px; align-items: flex-start; }
.periods .muted { padding-top: 8px; }
.period { display: flex; gap: 4px; align-items: center; padding: 4px 6px; border-radius: 8px; border-left: 4px solid var(--sl-info); background: var(--primary-background-color, #fafafa); flex-wrap: wrap; }
.period.staffed { border-left-color: var(--sl-ok); }
.now { font-weight: 500; }
ul.rows { list-style: none; padding: 0; margin: 0; }
ul.rows li { display: flex; gap: 12px; align-items: center; padding: 6px 0; border-bottom: 1px solid var(--sl-line); flex-wrap: wrap; }
ul.rows .when { min-width: 120px; font-weight: 500; }
ul.rows li > span:nth-child(2) { flex: 1; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--sl-line); }
.num { text-align: right; font-variant-numeric: tabular-nums; }
tfoot tr.total th, tfoot tr.total td { font-weight: 600; border-top: 2px solid var(--sl-line); }
.scroll { overflow-x: auto; max-width: 100%; }
.county { font-size: 16px; font-weight: 500; }
.newkey { border-left: 4px solid var(--sl-warn); }
.keyline { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.key { padding: 8px; border-radius: 6px; background: var(--primary-background-color, #f5f5f5); overflow-wrap: anywhere; flex: 1; min-width: 0; user-select: all; }
.error { color: var(--sl-bad); margin: 0; }
.error:empty { display: none; }
pre { white-space: pre-wrap; margin: 0; }
.toasts { position: fixed; bottom: 16px; left: 50%; transform: translateX(-50%); z-index: 5; max-width: calc(100% - 32px); }
.toast { padding: 12px 16px; border-radius: 8px; color: #fff; background: #323232; box-shadow: 0 2px 8px rgba(0,0,0,0.3); }
.toast.error { background: var(--sl-bad); }
dialog.dialog {
  border: none; border-radius: var(--sl-radius); padding: 0; width: min(480px, calc(100vw - 24px));
  background: var(--sl-card); color: var(--primary-text-color, #212121);
}
dialog::backdrop { background: rgba(0, 0, 0, 0.45); }
dialog form { padding: 20px; display: flex; flex-direction: column; gap: 12px; max-height: calc(100vh - 48px); overflow-y: auto; }
@media (max-width: 600px) {
  main { padding: 12px 8px; }
  .list { grid-template-columns: 1fr; }
  .day { grid-template-columns: 1fr; }
  .dayname { padding-top: 0; }
  h1 { font-size: 18px; }
  .service select { max-width: 150px; }
  .service span { display: none; }
}
`;

if (!customElements.get(ELEMENT)) customElements.define(ELEMENT, SmartLibraryPanel);
