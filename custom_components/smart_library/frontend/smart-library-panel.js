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
  texts: `${DOMAIN}/panel/texts`,
};
// The sections, in the order of their tabs (each tab's label: t(`section.${id}`)).
const SECTIONS = ["members", "import", "staff", "keys", "oncall", "hours", "incidents", "usage"];
// What the door would answer a member with the right PIN now (list_members' `door`): its tone
// (the words: t(`standing.${reason}`)).
const STANDING = {
  granted: "ok",
  no_pin_set: "warn",
  locked_out: "bad",
  under_16: "info",
  induction_needed: "warn",
  induction_outdated: "warn",
  card_expired: "bad",
  barred: "bad",
  final_warning: "warn",
};
const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const ROLES = ["staff", "cleaner", "security", "contractor"];

// -- texts in the user's language -------------------------------------------------------------

// The panel's words come from the integration (texts/panel/<language>.json, English beneath for
// anything a language lacks), in the language of the user's profile, loaded before the first
// drawing and again when the user changes language. `t(key, {name: value})` fills `{name}`s; with
// a numeric `count`, a key written in two forms reads `key.one` for 1 and `key.other` otherwise.
// A text that is not there reads as its key (tests/components/test_panel_texts.py checks that
// every key used here is in texts/panel/en.json). Values are filled in once, as text.
let TEXTS = {};

function t(key, values = {}) {
  let text = TEXTS[key];
  if (text === undefined && typeof values.count === "number") {
    text = TEXTS[`${key}.${values.count === 1 ? "one" : "other"}`];
  }
  if (text === undefined) return key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (values[name] === undefined ? whole : String(values[name])));
}

// The words for a value the integration sends (a mode, a role, a weekday …): the value itself
// when the panel has no words for it.
const named = (group, value) => TEXTS[`${group}.${value}`] ?? String(value).replaceAll("_", " ");

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
// An error as Home Assistant sends it (already in the user's language for the integration's
// own actions: translations/<language>.json).
const errorText = (err) =>
  String((err && (err.message || err.body?.message || err.code)) || err || t("common.went_wrong"))
    .replace(/^Validation error: /, "");

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
    else if (this._language && this._locale() !== this._language) this._relanguage();
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
    try {
      await this._loadTexts();
    } catch (err) {
      // Without its words the panel cannot say much: English is what a key reads most like.
      this._renderShell();
      this._fatal(`Smart Library did not answer: ${errorText(err)}`);
      return;
    }
    this._renderShell();
    try {
      this._overview = await this._hass.callWS({ type: WS.overview });
    } catch (err) {
      this._fatal(t("common.no_answer", { error: errorText(err) }));
      return;
    }
    const services = this._overview.services;
    this._entry = services.length ? services[0].entry_id : null;
    this._renderBar();
    this._show(this._section);
  }

  // The panel's words in the user's language (their profile's; the browser's when unset).
  async _loadTexts() {
    const language = this._locale();
    const answer = await this._hass.callWS({ type: WS.texts, language });
    TEXTS = answer.texts;
    this._language = language;
    this.lang = answer.language;
  }

  // The user chose another language: the panel's words follow, the section shown stays.
  async _relanguage() {
    if (this._relanguaging) return;
    this._relanguaging = true;
    try {
      await this._loadTexts();
      this._renderShell();
      if (this._overview) this._show(this._section);
    } catch {
      // the words already shown stay
    } finally {
      this._relanguaging = false;
    }
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
      { "aria-label": t("bar.sections") },
      SECTIONS.map((id) =>
        h("button", {
          class: id === this._section ? "tab active" : "tab",
          "aria-current": id === this._section ? "page" : null,
          "data-section": id,
          text: t(`section.${id}`),
          onclick: () => this._show(id),
        }),
      ),
    );
    this.shadowRoot.replaceChildren(
      h("style", { text: STYLE }),
      h("header", {}, h("div", { id: "bar", class: "bar" }), nav),
      h("div", { id: "toast", class: "toasts", "aria-live": "polite" }),
      h("main", { id: "main" }, h("p", { class: "muted", text: t("common.loading") })),
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
            title: t("bar.show_sidebar"),
            "aria-label": t("bar.show_sidebar"),
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
            h("span", { text: t("bar.service") }),
            h(
              "select",
              {
                "aria-label": t("bar.service"),
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
    bar.replaceChildren(...[menu, h("h1", { text: t("bar.title") }), picker].filter(Boolean));
  }

  async _show(section) {
    if (section !== this._section) {
      this._newKey = null; // a key is shown once
      this.shadowRoot.getElementById("toast")?.replaceChildren(); // about the section left
    }
    this._section = section;
    for (const tab of this.shadowRoot.querySelectorAll("nav .tab")) {
      const active = tab.dataset.section === section;
      tab.classList.toggle("active", active);
      if (active) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
    const main = this.shadowRoot.getElementById("main");
    if (!this._service() && section !== "usage") {
      main.replaceChildren(
        h("p", {
          class: "notice",
          text: t("common.no_service"),
        }),
      );
      return;
    }
    main.replaceChildren(h("p", { class: "muted", text: t("common.loading") }));
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
        h("button", { type: "button", class: "secondary", text: t("common.cancel"), onclick: () => dialog.close() }),
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
      "aria-label": t("members.search"),
      placeholder: t("members.search"),
      value: this._search.card ?? this._search.name ?? "",
      autocomplete: "off",
    });
    const form = h(
      "form",
      { class: "search", role: "search" },
      query,
      h("button", { type: "submit", class: "primary", text: t("members.find") }),
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
    const more = total > members.length;
    const counted = searched ? (more ? "members.found_first" : "members.found") : more ? "members.count_first" : "members.count";
    const summary =
      total === 0
        ? searched
          ? t("members.no_match")
          : t("members.none_yet")
        : t(counted, { count: total, shown: members.length });
    return h(
      "section",
      {},
      this._section_head(
        t("members.title"),
        t("members.intro"),
        h("button", { class: "primary", text: t("members.enroll"), onclick: () => this._enroll() }),
      ),
      form,
      h("p", { class: "muted", text: summary }),
      h("div", { class: "list" }, members.map((m) => this._memberCard(m))),
    );
  }

  _memberCard(m) {
    // What the door would say now; then whether a PIN is set; then what else stands in the way.
    const chip = (reason) => {
      return h("span", { class: `chip ${STANDING[reason] || "info"}`, text: named("standing", reason) });
    };
    const chips = [chip(m.door)];
    if (m.pin_set) chips.push(h("span", { class: "chip ok", text: t("members.pin_set") }));
    else if (m.door !== "no_pin_set") chips.push(chip("no_pin_set"));
    if (m.door !== m.eligibility && m.eligibility !== "granted") chips.push(chip(m.eligibility));
    const lines = [
      [t("members.card_expires"), this._date(m.card_expiry)],
      [t("members.induction"), m.induction_date ? this._date(m.induction_date) : t("members.induction_not_done")],
    ];
    if (m.renewed_on) lines.push([t("members.card_renewed"), this._date(m.renewed_on)]);
    if (m.locked_until) lines.push([t("members.locked_until"), this._time(m.locked_until)]);
    if (m.restriction === "barred") {
      lines.push([t("members.barred"), t("members.barred_since", { since: this._date(m.restriction_date), review: this._date(m.review_date) })]);
    }
    if (m.restriction === "final_warning") lines.push([t("members.final_warning"), t("members.since", { since: this._date(m.restriction_date) })]);
    if (m.restriction_reason) lines.push([t("members.reason_given"), m.restriction_reason]);
    const name = m.name || t("members.no_name");
    const who = `${name} (${m.card})`;
    const act = (label, handler, kind = "secondary") => h("button", { class: kind, text: label, onclick: handler });
    const actions = [
      act(m.pin_set ? t("members.reset_pin") : t("members.set_pin"), () => this._setPin(m, who), m.pin_set ? "secondary" : "primary"),
      act(t("members.record_induction"), () =>
        this._dialog(t("members.record_induction_of", { who }), [{ name: "date", label: t("members.induction_done_on"), type: "date", value: todayIso(), max: todayIso(), required: true }], t("members.record"), async (v) => {
          await this._call("record_induction", { config_entry_id: this._entry, card: m.ref, date: v.date });
          this._done(t("members.induction_recorded", { card: m.card }));
        }),
      ),
      act(t("members.renew_card"), () =>
        this._dialog(t("members.renew_card_of", { who }), [{ name: "card_expiry", label: t("members.new_expiry"), type: "date", value: addDays(todayIso(), 365), required: true }], t("members.renew"), async (v) => {
          await this._call("renew_card", { config_entry_id: this._entry, card: m.ref, card_expiry: v.card_expiry });
          this._done(t("members.renewed", { card: m.card }));
        }, t("members.renew_intro")),
      ),
    ];
    if (m.locked_until) {
      actions.push(
        act(t("members.unlock"), () =>
          this._dialog(t("members.unlock_who", { who }), [], t("members.unlock"), async () => {
            await this._call("unlock_card", { config_entry_id: this._entry, card: m.ref });
            this._done(t("members.unlocked", { card: m.card }));
          }, t("members.unlock_intro")),
        ),
      );
    }
    if (m.restriction === "barred") {
      actions.push(
        act(t("members.keep_bar"), () =>
          this._dialog(t("members.keep_bar_of", { who }), [{ name: "review_date", label: t("members.next_review"), type: "date", value: addDays(todayIso(), 90), required: true }], t("members.keep_barred"), async (v) => {
            await this._call("keep_ban", { config_entry_id: this._entry, card: m.ref, review_date: v.review_date });
            this._done(t("members.bar_kept", { card: m.card, review: this._date(v.review_date) }));
          }),
        ),
        act(t("members.lift_bar"), () =>
          this._dialog(t("members.lift_bar_of", { who }), [{ name: "agreement_date", label: t("members.agreement_signed_on"), type: "date", value: todayIso(), max: todayIso(), required: true }], t("members.lift_bar"), async (v) => {
            await this._call("lift_ban", { config_entry_id: this._entry, card: m.ref, agreement_date: v.agreement_date });
            this._done(t("members.bar_lifted", { card: m.card }));
          }),
        ),
      );
    } else {
      actions.push(
        act(t("members.bar"), () =>
          this._dialog(t("members.bar_who", { who }), [
            { name: "reason", label: t("members.reason"), type: "textarea", rows: 2, required: true },
            { name: "review_date", label: t("members.review_on"), type: "date", value: addDays(todayIso(), 90), required: true },
          ], t("members.bar"), async (v) => {
            await this._call("bar_member", { config_entry_id: this._entry, card: m.ref, reason: v.reason, review_date: v.review_date });
            this._done(t("members.barred_until", { card: m.card, review: this._date(v.review_date) }));
          }, t("members.bar_intro")),
          "danger",
        ),
      );
      if (m.restriction === "final_warning") {
        actions.push(
          act(t("members.lift_warning"), () =>
            this._dialog(t("members.lift_warning_of", { who }), [], t("members.lift_warning"), async () => {
              const answer = await this._call("lift_restriction", { config_entry_id: this._entry, card: m.ref });
              this._done(t(answer?.eligibility === "locked_out" ? "members.warning_lifted_locked" : "members.warning_lifted", { card: m.card }));
            }),
          ),
        );
      } else {
        actions.push(
          act(t("members.final_warning"), () =>
            this._dialog(t("members.final_warning_for", { who }), [{ name: "reason", label: t("members.reason"), type: "textarea", rows: 2 }], t("members.give_final_warning"), async (v) => {
              await this._call("issue_final_warning", { config_entry_id: this._entry, card: m.ref, reason: v.reason });
              this._done(t("members.warning_given", { card: m.card }));
            }),
          ),
        );
      }
    }
    return h(
      "article",
      { class: "item member", "data-card": m.card },
      h("div", { class: "title" }, h("h3", { text: name }), h("span", { class: "mono", text: m.card })),
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
      t(m.pin_set ? "members.reset_pin_of" : "members.set_pin_of", { who }),
      [
        { name: "pin", label: t("members.new_pin"), type: "password", inputmode: "numeric", autocomplete: "new-password", required: true, help: t("members.pin_help") },
        { name: "again", label: t("members.pin_again"), type: "password", inputmode: "numeric", autocomplete: "new-password", required: true },
      ],
      t("members.save_pin"),
      async (v) => {
        if (v.pin !== v.again) throw new Error(t("members.pins_differ"));
        await this._call("set_pin", { config_entry_id: this._entry, card: m.ref, pin: v.pin });
        this._done(t(m.locked_until ? "members.pin_set_unlocked" : "members.pin_set_for", { card: m.card }));
      },
    );
  }

  _enroll() {
    this._dialog(
      t("members.enroll"),
      [
        { name: "card", label: t("members.card_number"), required: true, inputmode: "text" },
        { name: "name", label: t("members.name") },
        { name: "birth_date", label: t("members.birth_date"), type: "date", required: true, max: todayIso() },
        { name: "card_expiry", label: t("members.card_expiry"), type: "date", required: true, value: addDays(todayIso(), 365) },
        { name: "induction_date", label: t("members.induction_done_on_empty"), type: "date", max: todayIso() },
        { name: "pin", label: t("members.pin_later"), type: "password", inputmode: "numeric", autocomplete: "new-password" },
      ],
      t("members.enroll_button"),
      async (v) => {
        const data = { config_entry_id: this._entry, card: v.card, name: v.name, birth_date: v.birth_date, card_expiry: v.card_expiry };
        if (v.induction_date) data.induction_date = v.induction_date;
        if (v.pin) data.pin = v.pin;
        const answer = await this._call("enroll_member", data);
        // Show the new member: found by the digits the masked card shows.
        const shown = answer.card.replace(/^•+/, "");
        this._search = { card: shown, name: undefined };
        this._done(t(v.pin ? "members.enrolled" : "members.enrolled_no_pin", { card: answer.card }));
      },
      t("members.enroll_intro"),
    );
  }

  // -- CSV import ------------------------------------------------------------------------------

  async _section_import() {
    const text = h("textarea", {
      name: "csv",
      rows: 8,
      "aria-label": t("import.csv_text"),
      placeholder: "barcode,name,date_of_birth,expiry,induction\n21234000000001,Ann Reader,1971-02-14,2028-01-31,2026-05-01",
    });
    const file = h("input", {
      type: "file",
      accept: ".csv,text/csv,text/plain",
      "aria-label": t("import.csv_file"),
      onchange: async () => {
        if (file.files?.[0]) text.value = await file.files[0].text();
      },
    });
    const form = h(
      "form",
      { class: "stack" },
      h("label", { class: "field" }, h("span", { text: t("import.file") }), file),
      h("label", { class: "field" }, h("span", { text: t("import.paste") }), text),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: t("import.import") })),
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!text.value.trim()) {
        this._toast(t("import.nothing"), "error");
        return;
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        this._report = await this._call("import_members", { config_entry_id: this._entry, csv: text.value });
        this._reasons = await this._errorTexts();
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
    // Why a row was refused: the integration's error for its code, in the user's language.
    const why = (r) => {
      const text = this._reasons?.(`component.${DOMAIN}.exceptions.${r.reason}.message`, { card: r.card });
      const usable = text && !text.startsWith("Translation error") && !/[{}]/.test(text);
      return (usable ? text : r.message || r.reason).replace(/\.$/, "");
    };
    return h(
      "section",
      {},
      this._section_head(t("import.title"), t("import.intro")),
      form,
      report
        ? h(
            "div",
            { class: "report", role: "status" },
            h("h3", { text: t("import.report") }),
            h("p", {
              text: `${t("import.taken", { count: report.taken, added: report.added, updated: report.updated })}; ${t("import.refused", { count: report.refused.length })}.`,
            }),
            report.refused.length
              ? h(
                  "table",
                  {},
                  h("thead", {}, h("tr", {}, h("th", { text: t("import.row") }), h("th", { text: t("import.card") }), h("th", { text: t("import.why") }))),
                  h(
                    "tbody",
                    {},
                    report.refused.map((r) =>
                      h("tr", {}, h("td", { text: r.row }), h("td", { class: "mono", text: r.card }), h("td", { text: why(r) })),
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
        t("staff.title"),
        t("staff.intro"),
        h("button", { class: "primary", text: t("staff.add"), onclick: () => this._addStaff(service) }),
      ),
      cards.length ? null : h("p", { class: "muted", text: t("staff.none") }),
      h(
        "div",
        { class: "list" },
        cards.map((c) =>
          h(
            "article",
            { class: "item" },
            h("div", { class: "title" }, h("h3", { text: c.name }), h("span", { class: "mono", text: c.card })),
            h("div", { class: "chips" }, h("span", { class: "chip info", text: named("role", c.role) })),
            h(
              "dl",
              {},
              h("dt", { text: t("staff.windows") }),
              h("dd", { text: c.windows.join("; ") }),
              h("dt", { text: t("staff.branches") }),
              h("dd", { text: c.branches.length ? c.branches.join(", ") : t("staff.every_branch") }),
            ),
            h(
              "div",
              { class: "actions" },
              h("button", {
                class: "danger",
                text: t("common.remove"),
                onclick: () =>
                  this._dialog(t("staff.remove_card_of", { name: c.name, card: c.card }), [], t("common.remove"), async () => {
                    await this._call("remove_staff_card", { config_entry_id: this._entry, card: c.ref });
                    this._toast(t("staff.removed", { card: c.card }));
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
    const roles = (this._overview.roles || ROLES).map((r) => [r, named("role", r)]);
    const fields = [
      { name: "card", label: t("staff.card_number"), required: true },
      { name: "name", label: t("staff.name"), required: true },
      { name: "role", label: t("staff.role"), type: "select", options: roles, value: roles[0][0] },
      { name: "windows", label: t("staff.time_windows"), required: true, placeholder: "mon-fri 06:00-08:00; sat 07:00-09:00", help: t("staff.windows_help") },
      { name: "pin", label: t("staff.pin"), type: "password", inputmode: "numeric", autocomplete: "new-password", required: true },
      ...service.branches.map((b) => ({ name: `branch:${b.device_id}`, label: t("staff.only_at", { branch: b.title }), type: "checkbox" })),
    ];
    this._dialog(t("staff.add_title"), fields, t("staff.add_button"), async (v) => {
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
      this._toast(t("staff.added", { card: answer.card, windows: answer.windows.join("; ") }));
      this._refresh();
    }, t("staff.add_intro"));
  }

  // -- reader keys -------------------------------------------------------------------------------

  async _section_keys() {
    const service = this._service();
    const { reader_keys: keys } = await this._call("list_reader_keys", { config_entry_id: this._entry });
    const shown = this._newKey
      ? h(
          "div",
          { class: "newkey", role: "status" },
          h("h3", { text: t("keys.shown_once", { name: this._newKey.name }) }),
          h("p", { text: t("keys.copy_now") }),
          h(
            "div",
            { class: "keyline" },
            h("code", { class: "key", text: this._newKey.key }),
            h("button", {
              class: "primary",
              text: t("keys.copy"),
              onclick: async (ev) => {
                try {
                  await navigator.clipboard.writeText(this._newKey.key);
                  ev.target.textContent = t("keys.copied");
                } catch {
                  const range = document.createRange();
                  range.selectNodeContents(this.shadowRoot.querySelector(".newkey .key"));
                  const selection = window.getSelection();
                  selection.removeAllRanges();
                  selection.addRange(range);
                  this._toast(t("keys.copy_by_hand"), "error");
                }
              },
            }),
          ),
          h("p", { class: "muted", text: t("keys.header", { header: this._newKey.header, path: "/api/smart_library/access" }) }),
          h("div", { class: "actions" }, h("button", { class: "secondary", text: t("keys.done"), onclick: () => { this._newKey = null; this._refresh(); } })),
        )
      : null;
    return h(
      "section",
      {},
      this._section_head(
        t("keys.title"),
        t("keys.intro"),
        h("button", { class: "primary", text: t("keys.make"), onclick: () => this._makeKey(service) }),
      ),
      shown,
      keys.length ? null : h("p", { class: "muted", text: t("keys.none") }),
      h(
        "div",
        { class: "list" },
        keys.map((k) =>
          h(
            "article",
            { class: `item key-item${k.revoked ? " revoked" : ""}`, "data-key": k.id },
            h("div", { class: "title" }, h("h3", { text: k.name }), h("span", { class: "mono", text: k.id })),
            h("div", { class: "chips" }, h("span", { class: `chip ${k.revoked ? "bad" : "ok"}`, text: k.revoked ? t("keys.revoked_at", { at: this._time(k.revoked) }) : t("keys.active") })),
            h(
              "dl",
              {},
              h("dt", { text: t("keys.branch") }),
              h("dd", { text: k.branch }),
              h("dt", { text: t("keys.doors") }),
              h("dd", { text: k.doors.map((d) => named("door", d)).join(", ") }),
              h("dt", { text: t("keys.made") }),
              h("dd", { text: this._time(k.created) }),
              h("dt", { text: t("keys.last_used") }),
              h("dd", { text: k.last_used ? this._time(k.last_used) : t("keys.never") }),
            ),
            k.revoked
              ? null
              : h(
                  "div",
                  { class: "actions" },
                  h("button", {
                    class: "danger",
                    text: t("keys.revoke"),
                    onclick: () =>
                      this._dialog(t("keys.revoke_title", { name: k.name }), [], t("keys.revoke"), async () => {
                        await this._call("revoke_reader_key", { config_entry_id: this._entry, reader_key: k.id });
                        this._newKey = null;
                        this._toast(t("keys.revoked", { name: k.name }));
                        this._refresh();
                      }, t("keys.revoke_intro")),
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
      this._toast(t("common.no_branch"), "error");
      return;
    }
    const doors = [...new Set(branches.flatMap((b) => b.doors.map((d) => d.id)))];
    const fields = [
      { name: "name", label: t("keys.name"), required: true, placeholder: t("keys.name_example") },
      { name: "branch", label: t("keys.branch"), type: "select", options: branches.map((b) => [b.device_id, b.title]), value: branches[0].device_id },
      ...doors.map((d, n) => ({ name: `door:${d}`, label: t("keys.door", { door: named("door", d) }), type: "checkbox", value: n === 0 })),
    ];
    this._dialog(t("keys.make_title"), fields, t("keys.make_button"), async (v) => {
      const chosen = Object.entries(v).filter(([k, on]) => k.startsWith("door:") && on).map(([k]) => k.slice(5));
      if (!chosen.length) throw new Error(t("keys.no_door"));
      const answer = await this._call("create_reader_key", {
        config_entry_id: this._entry,
        name: v.name,
        branch: v.branch,
        doors: chosen,
      });
      this._newKey = { key: answer.key, header: answer.header, name: answer.name };
      this._toast(t("keys.made_toast", { name: answer.name }));
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
        h("td", {}, h("input", { type: "checkbox", name: "on_call", value: p.device_id, checked: settings.on_call.includes(p.device_id), "aria-label": t("oncall.on_call_of", { phone: p.name }) })),
        h("td", {}, h("input", { type: "checkbox", name: "escalation", value: p.device_id, checked: settings.escalation.includes(p.device_id), "aria-label": t("oncall.escalation_of", { phone: p.name }) })),
      ),
    );
    const minutes = h("input", { type: "number", name: "minutes", min: low, max: high, value: settings.escalation_minutes, required: true });
    const form = h(
      "form",
      { class: "stack" },
      h(
        "div",
        { class: "scroll" },
        h("table", {}, h("thead", {}, h("tr", {}, h("th", { text: t("oncall.phone") }), h("th", { text: t("oncall.on_call") }), h("th", { text: t("oncall.escalation") }))), h("tbody", {}, rows)),
      ),
      h("label", { class: "field" }, h("span", { text: t("oncall.escalate_after") }), minutes),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: t("common.save") })),
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
        this._toast(t("oncall.saved"));
        this._refresh();
      } catch (err) {
        this._toast(errorText(err), "error");
      }
    });
    const names = (ids) => ids.map((id) => phones.find((p) => p.device_id === id)?.name || t("oncall.gone_phone")).join(", ");
    return h(
      "section",
      {},
      this._section_head(t("oncall.title"), t("oncall.intro")),
      settings.on_call.length
        ? h("p", {
            text: settings.escalation.length
              ? t("oncall.now_with_escalation", { on_call: names(settings.on_call), escalation: names(settings.escalation) })
              : t("oncall.now", { on_call: names(settings.on_call) }),
          })
        : h("p", { class: "notice bad", role: "alert", text: t("oncall.nobody") }),
      phones.length ? form : h("p", { class: "notice", text: t("oncall.no_phone") }),
    );
  }

  // -- opening hours ---------------------------------------------------------------------------

  async _section_hours() {
    const { branches } = await this._hass.callWS({ type: WS.hours, config_entry_id: this._entry });
    if (!branches.length) return h("p", { class: "notice", text: t("common.no_branch") });
    const branch = branches.find((b) => b.id === this._hoursBranch) || branches[0];
    this._hoursBranch = branch.id;
    const picker = h(
      "select",
      { "aria-label": t("hours.branch"), onchange: (ev) => { this._hoursBranch = ev.target.value; this._refresh(); } },
      branches.map((b) => h("option", { value: b.id, selected: b.id === branch.id, text: b.title })),
    );
    const now = [t("hours.now", { mode: named("mode", branch.mode) })];
    if (branch.closes_at) now.push(t("hours.closes", { at: this._time(branch.closes_at) }));
    if (branch.next_change) now.push(t("hours.next", { mode: named("mode", branch.next_change.mode), at: this._time(branch.next_change.at) }));
    if (branch.override !== "automatic") now.push(t("hours.by_hand", { mode: named("mode", branch.override) }));
    return h(
      "section",
      {},
      this._section_head(t("hours.title"), t("hours.intro"), h("label", { class: "inline" }, h("span", { text: t("hours.branch") }), picker)),
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
            h("div", { class: "dayname", text: named("weekday", day) }),
            h(
              "div",
              { class: "periods" },
              week[day].length ? null : h("span", { class: "muted", text: named("mode", "closed") }),
              week[day].map((p, n) =>
                h(
                  "div",
                  { class: `period ${p.mode}` },
                  h("input", { type: "time", value: p.start, "aria-label": t("hours.period_from", { day: named("weekday", day), n: n + 1 }), onchange: (ev) => { p.start = ev.target.value; } }),
                  h("span", { text: "–" }),
                  h("input", { type: "time", value: p.end, "aria-label": t("hours.period_to", { day: named("weekday", day), n: n + 1 }), onchange: (ev) => { p.end = ev.target.value; } }),
                  h(
                    "select",
                    { "aria-label": t("hours.period_mode", { day: named("weekday", day), n: n + 1 }), onchange: (ev) => { p.mode = ev.target.value; } },
                    ["staffed", "smart"].map((m) => h("option", { value: m, selected: p.mode === m, text: named("mode", m) })),
                  ),
                  h("button", { type: "button", class: "icon", title: t("hours.remove_period"), "aria-label": t("hours.remove_period"), text: "✕", onclick: () => { week[day].splice(n, 1); draw(); } }),
                ),
              ),
              h("button", {
                type: "button",
                class: "secondary small",
                text: t("hours.add_period"),
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
        h("label", { class: "field" }, h("span", { text: t("hours.field.latest_smart_end") }), latest),
        h("label", { class: "field" }, h("span", { text: t("hours.field.clearance_minutes") }), clearance),
      ),
      h(
        "fieldset",
        {},
        h("legend", { text: t("hours.field.staffed_free_entry") }),
        branch.doors.map((d, n) => h("label", { class: "check" }, free[n], h("span", { text: named("door", d) }))),
      ),
      choices.length
        ? h(
            "fieldset",
            { class: "neighbours" },
            h("legend", { text: t("hours.field.neighbours") }),
            choices.map((c, n) => h("label", { class: "check" }, near[n], h("span", { text: nearLabel(c) }))),
          )
        : null,
      errors,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: t("hours.save_week") })),
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
        this._toast(t("hours.week_saved", { branch: branch.title }));
        await this._afterReload(branch);
      } catch (err) {
        errors.replaceChildren(h("p", { text: errorText(err) }));
      } finally {
        button.disabled = false;
      }
    });
    return h("div", { class: "block" }, h("h3", { text: t("hours.week") }), form);
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
      if (step.type !== "form" || step.step_id !== "hours") throw new Error(t("hours.form_not_open"));
      const known = new Set((step.data_schema || []).map((f) => f.name));
      const data = Object.fromEntries(Object.entries(input).filter(([k]) => !known.size || known.has(k)));
      step = await this._hass.callApi("POST", `${base}/${flow}`, data);
      if (step.type === "abort") return [];
      if (step.type === "form") {
        const localize = await this._flowTranslations();
        const detail = step.description_placeholders?.detail;
        return Object.entries(step.errors || {}).map(([field, key]) => {
          const text = localize(`component.${DOMAIN}.config_subentries.branch.error.${key}`, step.description_placeholders || {}) || key.replaceAll("_", " ");
          const where = field === "base" ? "" : `${this._fieldName(field)}: `;
          return `${where}${text}${detail && field === "base" ? ` (${detail})` : ""}`;
        });
      }
      throw new Error(t("hours.flow_ended", { type: step.type }));
    } finally {
      // A form left with errors (or a menu) is still open: close it; a finished flow is gone.
      if (step.type === "form" || step.type === "menu") {
        this._hass.callApi("DELETE", `${base}/${flow}`).catch(() => {});
      }
    }
  }

  // The integration's error messages (translations/<language>.json) in the user's language, as a
  // localize function; none when the frontend cannot load them (the action's English is shown).
  async _errorTexts() {
    try {
      const localize = await this._hass.loadBackendTranslation?.("exceptions", DOMAIN);
      if (typeof localize === "function") return localize;
    } catch {
      // the report's own sentences are shown instead
    }
    return null;
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

  // A field of the opening-hours form, as the week editor names it ("monday_smart": Monday, Smart).
  _fieldName(field) {
    const [, day, mode] = field.match(/^([a-z]+day)_(staffed|smart)$/) || [];
    if (day) return `${named("weekday", day)}, ${named("mode", mode)}`;
    return named("hours.field", field);
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
    const title = h("h3", { text: t("hours.cover.title") });
    if (!cover.checked) {
      return h(
        "div",
        { class: "block cover", "data-cover": "unchecked" },
        title,
        h("p", { class: "muted", text: t("hours.cover.none_named") }),
      );
    }
    const names = cover.neighbour_choices.filter((c) => cover.neighbours.includes(c.id)).map((c) => c.title);
    const intro = t("hours.cover.intro", { names: names.join(", "), weeks: cover.weeks });
    if (!cover.uncovered.length) {
      return h(
        "div",
        { class: "block cover", "data-cover": "covered" },
        title,
        h("p", { class: "muted", text: intro }),
        h("p", { class: "notice ok", role: "status", text: t("hours.cover.all_covered") }),
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
        text: t("hours.cover.uncovered", { count: cover.uncovered.length }),
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
    const until = h("input", { type: "time", "aria-label": t("hours.open_until"), required: true, value: branch.latest_smart_end });
    const at = h("input", { type: "time", "aria-label": t("hours.close_at"), required: true });
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
    const extend = h("form", { class: "inline-form", onsubmit: run("extend_today", () => ({ until: until.value }), t("hours.extended", { branch: branch.title })) }, h("span", { text: t("hours.extend_until") }), until, h("button", { type: "submit", class: "secondary", text: t("hours.extend") }));
    const early = h("form", { class: "inline-form", onsubmit: run("close_early", () => ({ at: at.value }), t("hours.closed_early", { branch: branch.title })) }, h("span", { text: t("hours.close_early_at") }), at, h("button", { type: "submit", class: "secondary", text: t("hours.close_early") }));
    return h("div", { class: "block" }, h("h3", { text: t("hours.today") }), extend, early);
  }

  _exceptions(branch) {
    const add = () =>
      this._dialog(
        t("hours.day_title", { branch: branch.title }),
        [
          { name: "date", label: t("hours.date"), type: "date", required: true, min: todayIso() },
          { name: "label", label: t("hours.label"), placeholder: t("hours.label_example") },
          { name: "staffed", label: t("hours.staffed_hours"), placeholder: "09:00-13:00" },
          { name: "smart", label: t("hours.smart_hours"), placeholder: "13:00-17:00" },
        ],
        t("common.save"),
        async (v) => {
          await this._call("add_exception", { branch: branch.device_id, date: v.date, label: v.label, staffed: v.staffed, smart: v.smart }, false);
          this._toast(t("hours.day_saved", { date: this._date(v.date), branch: branch.title }));
          this._refresh();
        },
        t("hours.day_intro"),
      );
    const describe = (e) =>
      e.periods.length ? e.periods.map((p) => `${named("mode", p.mode)} ${p.start}–${p.end}`).join(", ") : t("hours.closed_all_day");
    return h(
      "div",
      { class: "block" },
      h("div", { class: "head" }, h("h3", { text: t("hours.days") }), h("button", { class: "secondary", text: t("hours.add_day"), onclick: add })),
      branch.exceptions.length ? null : h("p", { class: "muted", text: t("hours.none_to_come") }),
      h(
        "ul",
        { class: "rows" },
        branch.exceptions.map((e) =>
          h(
            "li",
            {},
            h("span", { class: "when", text: this._date(e.date) }),
            h("span", { text: (e.label ? `${e.label}: ` : "") + describe(e) }),
            h("button", {
              class: "secondary small",
              text: t("common.remove"),
              onclick: async () => {
                try {
                  await this._call("remove_exception", { branch: branch.device_id, date: e.date }, false);
                  this._toast(t("hours.day_removed", { date: this._date(e.date) }));
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
        t("hours.event_title", { branch: branch.title }),
        [
          { name: "title", label: t("hours.event_name"), required: true, placeholder: t("hours.event_example") },
          { name: "start", label: t("hours.starts"), type: "datetime-local", required: true },
          { name: "end", label: t("hours.ends"), type: "datetime-local", required: true },
        ],
        t("hours.add_event_button"),
        async (v) => {
          await this._call("add_event", { branch: branch.device_id, title: v.title, start: v.start, end: v.end });
          this._toast(t("hours.event_added", { title: v.title }));
          this._refresh();
        },
        t("hours.event_intro"),
      );
    return h(
      "div",
      { class: "block" },
      h("div", { class: "head" }, h("h3", { text: t("hours.events") }), h("button", { class: "secondary", text: t("hours.add_event"), onclick: add })),
      branch.events.length ? null : h("p", { class: "muted", text: t("hours.none_to_come") }),
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
              text: t("common.remove"),
              onclick: async () => {
                try {
                  await this._call("remove_event", { branch: branch.device_id, event_id: e.id }, false);
                  this._toast(t("hours.event_removed", { title: e.title }));
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
      { "aria-label": t("incidents.which"), onchange: (ev) => { this._incidentStatus = ev.target.value; this._refresh(); } },
      [["open", t("incidents.open")], ["complete", t("incidents.complete")], ["all", t("incidents.all")]].map(([v, t]) => h("option", { value: v, selected: v === this._incidentStatus, text: t })),
    );
    const exportCsv = async () => {
      try {
        const answer = await this._call("export_incidents", { config_entry_id: this._entry });
        this._download(`incidents-${todayIso()}.csv`, answer.csv);
        this._toast(t("incidents.exported", { count: answer.incidents }));
      } catch (err) {
        this._toast(errorText(err), "error");
      }
    };
    return h(
      "section",
      {},
      this._section_head(
        t("incidents.title"),
        t("incidents.intro"),
        h("label", { class: "inline" }, h("span", { text: t("incidents.show") }), filter),
        h("button", { class: "secondary", text: t("incidents.export"), onclick: exportCsv }),
      ),
      h("p", {
        class: "muted",
        text: total
          ? t(total > incidents.length ? "incidents.count_newest" : "incidents.count", { count: total, shown: incidents.length })
          : t("incidents.none"),
      }),
      h("div", { class: "list" }, incidents.map((i) => this._incidentCard(i))),
    );
  }

  _incidentCard(i) {
    // The category's words in the user's language (the stored English title when there are none).
    const title = TEXTS[`category.${i.category}`] ?? i.title;
    const lines = [
      ["id", t("incidents.id"), i.id],
      ["when", t("incidents.when"), this._time(i.occurred_at)],
      ["by", t("incidents.recorded_by"), `${i.recorded_by} (${named("source", i.source)})`],
    ];
    if (i.location) lines.push(["where", t("incidents.where"), i.location]);
    if (i.description) lines.push(["what", t("incidents.what"), i.description]);
    if (i.member_card) lines.push(["member", t("incidents.member"), i.member_card]);
    if (i.actions_taken) lines.push(["actions", t("incidents.actions_taken"), i.actions_taken]);
    if (i.police_reference) lines.push(["police", t("incidents.police_reference"), i.police_reference]);
    if (i.completed_at) {
      lines.push(["completed", t("incidents.completed"), t("incidents.completed_by", { at: this._time(i.completed_at), who: i.completed_by })]);
    }
    return h(
      "article",
      { class: "item", "data-incident": i.id },
      h("div", { class: "title" }, h("h3", { text: `${title} — ${i.branch}` })),
      h("div", { class: "chips" }, h("span", { class: `chip ${i.status === "open" ? "warn" : "ok"}`, text: i.status === "open" ? t("incidents.open") : t("incidents.complete") })),
      h("dl", {}, lines.map(([id, k, v]) => [h("dt", { text: k }), h("dd", { class: id === "id" ? "mono" : null, text: v })])),
      i.timeline ? h("details", {}, h("summary", { text: t("incidents.timeline") }), h("pre", { text: i.timeline })) : null,
      i.status === "open"
        ? h(
            "div",
            { class: "actions" },
            h("button", {
              class: "primary",
              text: t("incidents.complete_button"),
              onclick: () =>
                this._dialog(
                  t("incidents.complete_title", { title, branch: i.branch }),
                  [
                    { name: "actions_taken", label: t("incidents.actions_taken"), type: "textarea", rows: 3, required: true, value: i.actions_taken },
                    { name: "police_reference", label: t("incidents.police_reference_if_any"), value: i.police_reference },
                  ],
                  t("incidents.complete_submit"),
                  async (v) => {
                    await this._call("complete_incident", {
                      config_entry_id: this._entry,
                      incident: i.id,
                      actions_taken: v.actions_taken,
                      police_reference: v.police_reference,
                    });
                    this._toast(t("incidents.completed_toast", { id: i.id }));
                    this._refresh();
                  },
                  t("incidents.recorded", { at: this._time(i.recorded_at), id: i.id }),
                ),
            }),
          )
        : null,
    );
  }

  // -- usage -----------------------------------------------------------------------------------

  async _section_usage() {
    const p = this._period;
    const start = h("input", { type: "date", value: p.start, max: todayIso(), "aria-label": t("usage.from"), required: true });
    const end = h("input", { type: "date", value: p.end, max: todayIso(), "aria-label": t("usage.to_label"), required: true });
    const preset = h(
      "select",
      {
        "aria-label": t("usage.period"),
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
      [
        ["1", t("usage.today")],
        ["7", t("usage.last_7")],
        ["30", t("usage.last_30")],
        ["month", t("usage.this_month")],
        ["last", t("usage.last_month")],
        ["custom", t("usage.chosen")],
      ].map(([v, text]) => h("option", { value: v, selected: v === p.preset, text })),
    );
    for (const input of [start, end]) input.addEventListener("change", () => { preset.value = "custom"; });
    const form = h(
      "form",
      { class: "inline-form" },
      h("label", { class: "inline" }, h("span", { text: t("usage.period") }), preset),
      h("label", { class: "inline" }, h("span", { text: t("usage.from") }), start),
      h("label", { class: "inline" }, h("span", { text: t("usage.to") }), end),
      h("button", { type: "submit", class: "primary", text: t("usage.show") }),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this._period = { preset: preset.value, start: start.value, end: end.value };
      this._usage = null;
      this._refresh();
    });
    if (!this._usage || this._usage.start !== p.start || this._usage.end !== p.end) {
      if (p.end < p.start) throw new Error(t("usage.backwards"));
      this._usage = await this._hass.callWS({ type: WS.usage, start: p.start, end: p.end, language: this._locale() });
      this._usage.start = p.start;
      this._usage.end = p.end;
    }
    const usage = this._usage;
    const head = this._section_head(t("usage.title"), t("usage.intro"));
    if (!usage.recorder) {
      return h("section", {}, head, form, h("p", { class: "notice", text: t("usage.no_recorder") }));
    }
    const columns = [
      ["entries", t("usage.column.entries")],
      ["entries_staffed", t("usage.column.staffed")],
      ["entries_smart", t("usage.column.smart")],
      ["entries_event", t("usage.column.event")],
      ["age_under_16", t("usage.column.under_16")],
      ["age_16_59", "16–59"],
      ["age_60_plus", "60+"],
      ["refusals", t("usage.column.refused")],
      ["peak_inside", t("usage.column.most_inside")],
    ];
    const row = (service, name, values, cls) =>
      h("tr", { class: cls }, h("td", { text: service }), h("th", { scope: "row", text: name }), columns.map(([k]) => h("td", { class: "num", text: values[k] ?? "–" })));
    const table = h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "usage" },
        h("thead", {}, h("tr", {}, h("th", { text: t("usage.service") }), h("th", { text: t("usage.branch") }), columns.map(([, text]) => h("th", { class: "num", text })))),
        h("tbody", {}, usage.branches.map((b) => row(b.service, b.branch, b))),
        h("tfoot", {}, row("", t("usage.county_total"), usage.county, "total")),
      ),
    );
    return h(
      "section",
      {},
      head,
      form,
      h("p", {
        class: "county",
        text: t("usage.county", {
          start: this._date(usage.start),
          end: this._date(usage.end),
          entries: t("usage.entries", { count: usage.county.entries }),
          refusals: t("usage.refusals", { count: usage.county.refusals }),
        }),
      }),
      table,
      h(
        "div",
        { class: "actions" },
        h("button", {
          class: "secondary",
          text: t("usage.download"),
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
