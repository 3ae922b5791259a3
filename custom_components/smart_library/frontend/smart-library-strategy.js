// Smart Library: the dashboard strategy `custom:smart-library`.
//
// A dashboard whose configuration is
//     strategy:
//       type: custom:smart-library
// is built each time it is opened, from every library service and branch Home Assistant knows:
// the layout comes from the integration (websocket command `smart_library/dashboard`, built in
// custom_components/smart_library/dashboard.py from the entity registry), so a new branch or a
// second library service appears with no hand edit. Served by the integration itself and loaded
// by every page of the frontend; nothing to add under Dashboards > Resources.

const STRATEGY = "smart-library";

// The cards' words, in the language of the person at the screen: the integration sends them with
// the layout (`texts`: texts/dashboard/<language>.json's `frontend` section, and the refusal
// reasons' names from its entity translations). English (below, the same as en.json: a test
// compares them) for a card on a dashboard the strategy did not build and for a key a language
// lacks. Texts are Python-style templates: "{branch}" is replaced, "{count}" picks .one/.other.
const ENGLISH = /* texts/dashboard/en.json: frontend */ {
  "cancel": "Cancel",
  "loading": "Loading…",
  "ago.now": "just now",
  "ago.minutes": "{minutes} min ago",
  "ago.hours": "{hours} h {minutes} min ago",
  "ago.days.one": "{count} day ago",
  "ago.days.other": "{count} days ago",
  "failure.refused": "Home Assistant refused this for your account.",
  "failure.ask_admin": "Only an administrator can do this: ask one.",
  "failure.other": "It did not work.",
  "attempts.title": "Recent attempts",
  "attempts.card": "card {card}",
  "attempts.party.one": "{count} person",
  "attempts.party.other": "{count} people",
  "attempts.unavailable": "The history is not available: {error}",
  "attempts.none": "No attempts at the doors in the last {hours} hours.",
  "banner.counted.one": "{count} person counted inside at the alarm",
  "banner.counted.other": "{count} people counted inside at the alarm",
  "banner.since": "Since {time} ({ago})",
  "banner.inside_now": "{people} inside now",
  "banner.fire_title": "FIRE ALARM — {branch}",
  "banner.fire_text": "Every door is released and card checks are suspended. Evacuate the building; the branch returns to normal only when an administrator resets it.",
  "banner.reset_title": "Reset needed after the fire alarm — {branch}",
  "banner.alarm_at": "Alarm at {time}",
  "banner.panel_reset_at": "panel reset at {time}",
  "banner.reset_text": "The fire panel is clear, but doors stay released and card entry stays off until a person has checked the building and resets the branch.",
  "banner.reset_label": "Reset after evacuation",
  "banner.reset_question": "{branch}: has a person checked the building? Card entry starts again.",
  "banner.reset_confirm": "Yes, reset",
  "banner.reset_note": "Only an administrator can reset it: ask one once the building is checked.",
  "banner.lockdown_title": "LOCKED DOWN — {branch}",
  "banner.started_by": "started by {name}",
  "banner.lockdown_text": "Only staff cards open the doors; leaving is always possible.",
  "banner.end_label": "End lockdown",
  "banner.end_question": "End the lockdown of {branch}? The doors follow the opening hours again.",
  "banner.end_confirm": "Yes, end it",
  "banner.end_note": "Only an administrator can end it: ask one.",
  "banner.no_phones_title": "Nobody gets the staff alerts — {service}",
  "banner.no_phone_set": "No on-call phone is set: a panic button, a fire alarm or a lockdown at any branch alerts nobody.",
  "banner.no_phone_reachable": "No on-call phone can be reached: a panic button, a fire alarm or a lockdown at any branch alerts nobody.",
  "banner.choose_phones": "Choose the on-call phones",
  "banner.ask_phones": "Ask an administrator to choose the on-call phones.",
  "incidents.title": "Incidents to review",
  "incidents.where": "Where: {place}",
  "incidents.member": "Member: card {card}",
  "incidents.actions_taken": "Actions taken: {text}",
  "incidents.police": "Police reference: {reference}",
  "incidents.recorded_by": "Recorded by {name}",
  "incidents.write_actions": "Write what was done (the actions taken) first.",
  "incidents.actions_label": "Actions taken",
  "incidents.actions_placeholder": "What was done, by whom",
  "incidents.police_label": "Police reference (optional)",
  "incidents.police_placeholder": "e.g. 24/1234",
  "incidents.complete": "Complete review",
  "incidents.review": "Complete review…",
  "incidents.id": "Incident {id}",
  "incidents.reviewed": "Incident {id} · reviewed {time}",
  "incidents.what_happened": "What happened",
  "incidents.unavailable": "The list is not available: {error}",
  "incidents.nothing": "Nothing to review.",
  "incidents.done.one": "{count} review completed this week",
  "incidents.done.other": "{count} reviews completed this week",
  "usage.title": "Usage",
  "usage.county": "County total (every branch)",
  "usage.branch": "Branch",
  "usage.day": "Day",
  "usage.week": "Week",
  "usage.earlier": "Earlier",
  "usage.later": "Later",
  "usage.week_to": "7 days to {day}",
  "usage.unavailable": "The statistics are not available: {error}",
  "usage.nothing_day": "Nothing recorded this day.",
  "usage.nothing_week": "Nothing recorded these 7 days.",
  "usage.none": "none",
  "usage.modes_hour": "Entries by mode, per hour",
  "usage.modes_day": "Entries by mode, per day",
  "usage.ages_hour": "Entries by age band, per hour",
  "usage.ages_day": "Entries by age band, per day",
  "usage.refusals_hour": "Refusals by reason, per hour",
  "usage.refusals_day": "Refusals by reason, per day",
  "usage.occupancy_hour": "People inside, peak per hour",
  "usage.occupancy_day": "People inside, peak per day",
  "usage.people_in_all.one": "{count} person in all",
  "usage.people_in_all.other": "{count} people in all",
  "usage.attempts_in_all.one": "{count} attempt in all",
  "usage.attempts_in_all.other": "{count} attempts in all",
  "usage.peak": "peak {count}",
  "usage.csv_branch": "CSV: {branch}",
  "usage.csv_month": "CSV: this month",
  "usage.downloaded.one": "{branch}: {count} hour of {month} downloaded.",
  "usage.downloaded.other": "{branch}: {count} hours of {month} downloaded.",
  "series.staffed": "Staffed",
  "series.smart": "Smart (self-access)",
  "series.event": "Event",
  "series.closed": "Closed",
  "series.under_16": "Under 16 (accompanied)",
  "series.16_59": "16–59",
  "series.60_plus": "60 and over",
  "series.occupancy": "Peak inside",
  "cover.title.one": "{count} smart period with no staffed library nearby",
  "cover.title.other": "{count} smart periods with no staffed library nearby",
  "cover.more": "and {count} more",
  "cover.weeks": "The next {weeks} weeks. Plan staffed hours at a neighbour for these times (Library admin › Opening hours)."
} /* end */;
let TEXTS = {};

function t(key, values = {}) {
  const text = TEXTS[key] ?? ENGLISH[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (found, name) => (name in values ? String(values[name]) : found));
}

// A count's text: `key.one` for 1, `key.other` otherwise, {count} filled in.
const tn = (key, count, values = {}) => t(`${key}.${count === 1 ? "one" : "other"}`, { ...values, count });

class SmartLibraryDashboardStrategy extends HTMLElement {
  static async generate(config, hass) {
    // The dashboard's own URL path ("smart-library" in /smart-library/overview), for the links
    // from the overview to each branch's view.
    const dashboard = window.location.pathname.split("/")[1] || undefined;
    // The user's language (their profile's), as the frontend itself uses it.
    const language = String(hass.locale?.language || hass.language || "en").slice(0, 35);
    try {
      const { texts, ...config } = await hass.callWS({
        type: "smart_library/dashboard",
        dashboard,
        language,
      });
      TEXTS = texts || {};
      return config;
    } catch (err) {
      return {
        title: "Smart Library",
        views: [
          {
            title: "Overview",
            path: "overview",
            cards: [
              {
                type: "markdown",
                content:
                  '<ha-alert alert-type="warning" title="Smart Library is not running">' +
                  "The integration did not answer (" +
                  String((err && (err.message || err.code)) || err).replace(/[<>&]/g, "") +
                  "). Check Settings › Devices &amp; services › Smart Library.</ha-alert>",
              },
            ],
          },
        ],
      };
    }
  }
}

// The card `custom:smart-library-attempts-card`: a branch's recent attempts at its doors, newest
// first, each with its time, door, outcome, reason and masked card, read from the doors' event
// entities' history (Home Assistant's history stream, open to every user). Start-up states
// (unknown, unavailable) are left out: only attempts are listed.
//   type: custom:smart-library-attempts-card
//   title: Recent attempts
//   hours: 24
//   entities: [{entity: event.oadby_library_entrance_access, name: Entrance}, …]
const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);

class SmartLibraryAttemptsCard extends HTMLElement {
  setConfig(config) {
    if (!Array.isArray(config.entities) || config.entities.length === 0) {
      throw new Error("entities: the doors' event entities are needed");
    }
    this._config = {
      title: t("attempts.title"),
      hours: 24,
      limit: 12,
      ...config,
      entities: config.entities.map((e) => (typeof e === "string" ? { entity: e } : e)),
    };
    this._attempts = new Map();
    this._failed = null;
    this._render();
  }

  set hass(hass) {
    this._hass = hass;
    if (!this._unsubscribe && this.isConnected) this._subscribe();
    this._render();
  }

  connectedCallback() {
    if (this._hass && !this._unsubscribe) this._subscribe();
  }

  disconnectedCallback() {
    if (this._unsubscribe) {
      this._unsubscribe.then((unsubscribe) => unsubscribe()).catch(() => {});
      this._unsubscribe = undefined;
    }
  }

  getCardSize() {
    return 2 + Math.min(this._attempts?.size || 1, this._config?.limit || 12);
  }

  getGridOptions() {
    return { columns: 12, min_columns: 6, rows: "auto" };
  }

  _subscribe() {
    const start = new Date(Date.now() - this._config.hours * 3_600_000);
    this._unsubscribe = this._hass.connection
      .subscribeMessage((message) => this._received(message), {
        type: "history/stream",
        entity_ids: this._config.entities.map((e) => e.entity),
        start_time: start.toISOString(),
        minimal_response: false,
        significant_changes_only: false,
        no_attributes: false,
      })
      .catch((err) => {
        this._failed = (err && (err.message || err.code)) || String(err);
        this._render();
        return () => {};
      });
  }

  _received(message) {
    for (const [entity, states] of Object.entries(message.states || {})) {
      for (const state of states) {
        const attributes = state.a || {};
        if (!attributes.event_type || ["unknown", "unavailable"].includes(state.s)) continue;
        const when = Date.parse(state.s) || (state.lu || 0) * 1000;
        this._attempts.set(`${entity} ${state.s}`, { entity, when, attributes });
      }
    }
    this._render();
  }

  _label(entity, attribute, value) {
    const stateObj = this._hass?.states[entity];
    if (!stateObj || value === undefined || value === null || value === "") return value ?? "";
    try {
      return this._hass.formatEntityAttributeValue(stateObj, attribute, value);
    } catch {
      return value;
    }
  }

  _render() {
    if (!this._config) return;
    if (!this.shadowRoot) this.attachShadow({ mode: "open" });
    const names = Object.fromEntries(this._config.entities.map((e) => [e.entity, e.name]));
    const today = new Date().toDateString();
    const locale = this._hass?.locale?.language || undefined;
    const rows = [...this._attempts.values()]
      .sort((a, b) => b.when - a.when)
      .slice(0, this._config.limit)
      .map(({ entity, when, attributes }) => {
        const date = new Date(when);
        const time = date.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
        const day = date.toDateString() === today ? "" : `${date.toLocaleDateString(locale)} `;
        const type = attributes.event_type;
        const outcome = this._label(entity, "event_type", type);
        const reason = type === "denied" ? this._label(entity, "reason", attributes.reason) : "";
        const door = names[entity] || this._hass?.states[entity]?.attributes.friendly_name || entity;
        const card = attributes.card ? t("attempts.card", { card: attributes.card }) : "";
        const party = type === "granted" && attributes.party > 1 ? tn("attempts.party", Number(attributes.party)) : "";
        return `<li class="${escape(type)}"><span class="time">${escape(day + time)}</span>
          <span class="what"><b>${escape(door)}</b> ${escape(outcome)}${reason ? ` — ${escape(reason)}` : ""}</span>
          <span class="who">${escape([party, card].filter(Boolean).join(", "))}</span></li>`;
      });
    const body = this._failed
      ? `<p class="empty">${escape(t("attempts.unavailable", { error: this._failed }))}</p>`
      : rows.length
        ? `<ul>${rows.join("")}</ul>`
        : `<p class="empty">${escape(t("attempts.none", { hours: this._config.hours }))}</p>`;
    this.shadowRoot.innerHTML = `<style>
        ul { list-style: none; margin: 0; padding: 0 16px 16px; }
        li { display: grid; grid-template-columns: auto 1fr; column-gap: 12px; padding: 6px 0;
             border-bottom: 1px solid var(--divider-color); }
        li:last-child { border-bottom: none; }
        .time { color: var(--secondary-text-color); font-variant-numeric: tabular-nums; }
        .who { grid-column: 2; color: var(--secondary-text-color); font-size: 0.9em; }
        li.denied b, li.tailgating b { color: var(--error-color); }
        .empty { padding: 0 16px 16px; margin: 0; color: var(--secondary-text-color); }
      </style><ha-card header="${escape(this._config.title)}">${body}</ha-card>`;
  }
}

// -- shared helpers of the cards below ----------------------------------------------------------

// A time as the duty manager reads it: "20:03" today, "Tue 20:03" another day.
function clock(hass, iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const locale = hass?.locale?.language || undefined;
  const time = date.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  if (date.toDateString() === new Date().toDateString()) return time;
  return `${date.toLocaleDateString(locale, { weekday: "short", day: "numeric", month: "short" })} ${time}`;
}

// How long ago, in words: "just now", "12 min ago", "2 h 5 min ago".
function ago(iso) {
  const minutes = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60_000));
  if (!Number.isFinite(minutes)) return "";
  if (minutes < 1) return t("ago.now");
  if (minutes < 60) return t("ago.minutes", { minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t("ago.hours", { hours, minutes: minutes % 60 });
  return tn("ago.days", Math.floor(hours / 24));
}

// An action's failure in words a person can act on: never a bare "Unauthorized".
function failure(err, admin) {
  const code = err?.code || err?.error?.code || "";
  if (code === "unauthorized" || /unauthori[sz]ed/i.test(String(err?.message || err))) {
    return admin ? t("failure.refused") : t("failure.ask_admin");
  }
  return String(err?.message || err?.error?.message || err || t("failure.other"));
}

// Go to another page of the frontend without reloading it.
function navigate(path) {
  window.history.pushState(null, "", path);
  window.dispatchEvent(new CustomEvent("location-changed", { detail: { replace: false } }));
}

const BUTTON_CSS = `
  button { font: inherit; font-weight: 600; border-radius: 18px; padding: 8px 16px; cursor: pointer;
           border: 1px solid currentColor; background: var(--card-background-color, #fff);
           color: var(--primary-text-color); margin: 8px 8px 0 0; min-height: 40px; }
  button.go { background: var(--primary-color); color: var(--text-primary-color, #fff);
              border-color: var(--primary-color); }
  button:disabled { opacity: 0.6; cursor: default; }
  .error { color: var(--error-color); font-weight: 600; margin-top: 8px; }`;

// The card `custom:smart-library-banner-card`: one state of a branch (or a library service), full
// width at the top of the overview and of the branch's view, shown by the dashboard only while it
// lasts (its `visibility`):
//   kind: fire      red: since when, how long ago, how many were counted inside at the alarm
//   kind: reset     amber: the panel is clear, the branch waits for a person; *Reset* for admins
//   kind: lockdown  since when and by whom; *End lockdown* for administrators
//   kind: no_phones nobody gets the staff alerts; *Choose the on-call phones* for administrators
// `role` (admin, staff, read_only) says what is offered: staff read "ask an administrator" where
// the next step is an administrator's, never a button that would only answer "Unauthorized".
class SmartLibraryBannerCard extends HTMLElement {
  setConfig(config) {
    if (!["fire", "reset", "lockdown", "no_phones"].includes(config.kind)) {
      throw new Error("kind: fire, reset, lockdown or no_phones");
    }
    this._config = config;
    this._asking = false;
    this._busy = false;
    this._error = "";
    this._render();
  }

  set hass(hass) {
    this._hass = hass;
    this._render();
  }

  connectedCallback() {
    this._timer = setInterval(() => this._render(), 30_000); // the time gone, kept current
  }

  disconnectedCallback() {
    clearInterval(this._timer);
  }

  getCardSize() {
    return 3;
  }

  getGridOptions() {
    return { columns: "full", rows: "auto" };
  }

  _attributes(key) {
    const id = this._config[key];
    return (id && this._hass?.states[id]?.attributes) || {};
  }

  _content() {
    const c = this._config;
    const hass = this._hass;
    const admin = c.role === "admin";
    const staff = c.role === "staff";
    const mode = this._attributes("mode");
    const evacuation = this._attributes("evacuation");
    const counted = (n) => (n === null || n === undefined ? "" : tn("banner.counted", Number(n)));
    const since = (at) => t("banner.since", { time: clock(hass, at), ago: ago(at) });
    switch (c.kind) {
      case "fire": {
        const at = mode.alarm_at || evacuation.alarm_at;
        const inside = mode.inside_at_alarm ?? evacuation.inside_at_alarm;
        const now = c.people ? hass?.states[c.people]?.state : undefined;
        const facts = [
          at ? since(at) : "",
          counted(inside),
          now !== undefined && !["unknown", "unavailable"].includes(now) ? t("banner.inside_now", { people: now }) : "",
        ].filter(Boolean);
        return {
          tone: "fire",
          icon: "mdi:fire-alert",
          title: t("banner.fire_title", { branch: c.branch }),
          facts,
          text: t("banner.fire_text"),
        };
      }
      case "reset": {
        const at = evacuation.alarm_at || mode.alarm_at;
        const cleared = evacuation.alarm_cleared_at;
        const inside = evacuation.inside_at_alarm ?? mode.inside_at_alarm;
        return {
          tone: "reset",
          icon: "mdi:restore-alert",
          title: t("banner.reset_title", { branch: c.branch }),
          facts: [
            at ? t("banner.alarm_at", { time: clock(hass, at) }) : "",
            cleared ? t("banner.panel_reset_at", { time: clock(hass, cleared) }) : "",
            counted(inside),
          ].filter(Boolean),
          text: t("banner.reset_text"),
          action: admin && c.reset
            ? {
                label: t("banner.reset_label"),
                question: t("banner.reset_question", { branch: c.branch }),
                confirm: t("banner.reset_confirm"),
                run: () => hass.callService("button", "press", {}, { entity_id: c.reset }),
              }
            : null,
          note: staff ? t("banner.reset_note") : "",
        };
      }
      case "lockdown": {
        const lockdown = this._attributes("lockdown");
        return {
          tone: "lockdown",
          icon: "mdi:lock-alert",
          title: t("banner.lockdown_title", { branch: c.branch }),
          facts: [
            lockdown.since ? since(lockdown.since) : "",
            lockdown.by ? t("banner.started_by", { name: lockdown.by }) : "",
          ].filter(Boolean),
          text: t("banner.lockdown_text"),
          action: admin && c.device
            ? {
                label: t("banner.end_label"),
                question: t("banner.end_question", { branch: c.branch }),
                confirm: t("banner.end_confirm"),
                run: () =>
                  hass.callService("smart_library", "end_lockdown", { branch: c.device }),
              }
            : null,
          note: staff ? t("banner.end_note") : "",
        };
      }
      default: {
        const phones = this._attributes("staff_alerts");
        return {
          tone: "reset",
          icon: "mdi:cellphone-off",
          title: t("banner.no_phones_title", { service: c.service }),
          facts: [],
          text: t(phones.on_call_phones === 0 ? "banner.no_phone_set" : "banner.no_phone_reachable"),
          action: admin
            ? { label: t("banner.choose_phones"), run: () => navigate("/config/repairs"), now: true }
            : null,
          note: admin ? "" : t("banner.ask_phones"),
        };
      }
    }
  }

  async _act(action) {
    this._busy = true;
    this._error = "";
    this._render();
    try {
      await action.run();
      this._asking = false;
    } catch (err) {
      this._error = failure(err, this._config.role === "admin");
    }
    this._busy = false;
    this._render();
  }

  _render() {
    if (!this._config || !this._hass) return;
    if (!this.shadowRoot) this.attachShadow({ mode: "open" });
    const c = this._content();
    const facts = c.facts.length ? `<p class="facts">${c.facts.map(escape).join(" · ")}</p>` : "";
    let controls = "";
    if (c.action && this._asking) {
      controls = `<p class="question">${escape(c.action.question)}</p>
        <button class="go" data-do="confirm" ${this._busy ? "disabled" : ""}>${escape(c.action.confirm)}</button>
        <button data-do="cancel" ${this._busy ? "disabled" : ""}>${escape(t("cancel"))}</button>`;
    } else if (c.action) {
      controls = `<button class="go" data-do="ask">${escape(c.action.label)}</button>`;
    }
    const note = c.note ? `<p class="note">${escape(c.note)}</p>` : "";
    const error = this._error ? `<p class="error" role="alert">${escape(this._error)}</p>` : "";
    this.shadowRoot.innerHTML = `<style>
        ha-card { padding: 16px 20px; border-left: 8px solid var(--tone); background: var(--tint); }
        .fire { --tone: var(--error-color, #db4437); --tint: rgba(219, 68, 55, 0.12); }
        .reset { --tone: var(--warning-color, #ffa600); --tint: rgba(255, 166, 0, 0.14); }
        .lockdown { --tone: var(--error-color, #db4437); --tint: rgba(219, 68, 55, 0.08); }
        h2 { margin: 0; font-size: 1.5em; line-height: 1.25; color: var(--tone); display: flex;
             gap: 10px; align-items: center; }
        .fire h2 { font-size: 1.9em; }
        p { margin: 6px 0 0; }
        .facts { font-size: 1.15em; font-weight: 600; }
        .note { font-style: italic; }
        .question { font-weight: 600; }
        ${BUTTON_CSS}
      </style><ha-card class="${c.tone}" role="alert"><h2><ha-icon icon="${c.icon}"></ha-icon>
        <span>${escape(c.title)}</span></h2>${facts}<p>${escape(c.text)}</p>${note}${controls}${error}</ha-card>`;
    this.shadowRoot.querySelectorAll("button").forEach((button) =>
      button.addEventListener("click", () => {
        const what = button.dataset.do;
        if (what === "ask") {
          if (c.action.now) return c.action.run();
          this._asking = true;
          this._error = "";
          return this._render();
        }
        if (what === "cancel") {
          this._asking = false;
          return this._render();
        }
        return this._act(c.action);
      }),
    );
  }
}

// The card `custom:smart-library-incidents-card`: a branch's incidents to review (its to-do list,
// read with Home Assistant's own to-do subscription: each item names an incident by category,
// place, time and id), each with what happened read through the staff-only websocket command
// `smart_library/incidents` (`branch_id`: the branch's sub-entry). *Complete review* asks for the
// actions taken and an optional police reference, then ticks the item through `todo.update_item`
// (the integration reads both from what is written below the item's description and keeps them
// with the incident, in the name of the person who ticked it). Reviews completed this week fold
// into one line. The dashboard gives this card to staff and administrators only.
class SmartLibraryIncidentsCard extends HTMLElement {
  setConfig(config) {
    if (!config.entity) throw new Error("entity: the branch's incidents to-do list");
    this._config = { title: t("incidents.title"), ...config };
    this._items = null;
    this._texts = {}; // incident id -> what staff read of it (smart_library/incidents)
    this._open = null; // the uid whose review form is open
    this._errors = {};
    this._busy = false;
    this._render();
  }

  set hass(hass) {
    this._hass = hass;
    if (!this._unsubscribe && this.isConnected) this._subscribe();
    if (this._items === null) this._render();
  }

  connectedCallback() {
    if (this._hass && !this._unsubscribe) this._subscribe();
  }

  disconnectedCallback() {
    if (this._unsubscribe) {
      this._unsubscribe.then((unsubscribe) => unsubscribe()).catch(() => {});
      this._unsubscribe = undefined;
    }
  }

  getCardSize() {
    return 2 + (this._items || []).filter((i) => i.status === "needs_action").length;
  }

  getGridOptions() {
    return { columns: 12, min_columns: 6, rows: "auto" };
  }

  _subscribe() {
    this._unsubscribe = this._hass.connection
      .subscribeMessage(
        (message) => {
          this._items = message.items || [];
          this._render();
          this._read();
        },
        { type: "todo/item/subscribe", entity_id: this._config.entity },
      )
      .catch((err) => {
        this._failed = failure(err, false);
        this._render();
        return () => {};
      });
  }

  // What happened, for staff: the incidents' texts (not in the to-do items, which anyone reads).
  async _read() {
    if (!this._config.branch_id) return;
    try {
      const reply = await this._hass.callWS({
        type: "smart_library/incidents",
        branch_id: this._config.branch_id,
      });
      this._texts = Object.fromEntries((reply.incidents || []).map((i) => [i.id, i]));
    } catch (err) {
      this._texts = {};
      this._unreadable = failure(err, false);
    }
    this._render();
  }

  _what(uid) {
    const i = this._texts[uid];
    if (!i) return this._unreadable ? escape(this._unreadable) : "";
    const lines = [
      i.description || i.title,
      i.location ? t("incidents.where", { place: i.location }) : "",
      i.member_card ? t("incidents.member", { card: i.member_card }) : "",
      i.actions_taken ? t("incidents.actions_taken", { text: i.actions_taken }) : "",
      i.police_reference ? t("incidents.police", { reference: i.police_reference }) : "",
      i.recorded_by ? t("incidents.recorded_by", { name: i.recorded_by }) : "",
      i.timeline || "",
    ].filter(Boolean);
    return escape(lines.join("\n"));
  }

  async _complete(item, form) {
    const actions = form.querySelector("textarea").value.trim();
    const police = form.querySelector("input").value.trim();
    if (!actions) {
      this._errors[item.uid] = t("incidents.write_actions");
      return this._render();
    }
    // Written in English whatever the language: the integration reads these two labels back
    // (todo.py's read_note), they are the item's format, not words on the screen.
    const written = [`Actions taken: ${actions}`];
    if (police) written.push(`Police reference: ${police}`);
    this._busy = true;
    this._render();
    try {
      await this._hass.callService(
        "todo",
        "update_item",
        {
          item: item.uid,
          status: "completed",
          description: `${item.description || ""}\n\n${written.join("\n")}`,
        },
        { entity_id: this._config.entity },
      );
      this._open = null;
      delete this._errors[item.uid];
    } catch (err) {
      this._errors[item.uid] = failure(err, false);
    }
    this._busy = false;
    this._render();
  }

  _row(item) {
    const review = this._open === item.uid;
    const error = this._errors[item.uid];
    const form = review
      ? `<form data-uid="${escape(item.uid)}">
          <label>${escape(t("incidents.actions_label"))}<textarea required rows="3" placeholder="${escape(t("incidents.actions_placeholder"))}"></textarea></label>
          <label>${escape(t("incidents.police_label"))}<input type="text" maxlength="100" placeholder="${escape(t("incidents.police_placeholder"))}"></label>
          <button class="go" type="submit" ${this._busy ? "disabled" : ""}>${escape(t("incidents.complete"))}</button>
          <button type="button" data-do="cancel">${escape(t("cancel"))}</button></form>`
      : `<button data-do="review" data-uid="${escape(item.uid)}">${escape(t("incidents.review"))}</button>`;
    return `<li><div class="summary">${escape(item.summary)}</div>
      <div class="id">${escape(t("incidents.id", { id: item.uid }))}</div>
      <details><summary>${escape(t("incidents.what_happened"))}</summary><pre>${this._what(item.uid)}</pre></details>
      ${form}${error ? `<p class="error" role="alert">${escape(error)}</p>` : ""}</li>`;
  }

  _render() {
    if (!this._config) return;
    if (!this.shadowRoot) this.attachShadow({ mode: "open" });
    const items = this._items || [];
    const open = items.filter((i) => i.status === "needs_action");
    const done = items.filter((i) => i.status === "completed");
    let body;
    if (this._failed) body = `<p class="empty">${escape(t("incidents.unavailable", { error: this._failed }))}</p>`;
    else if (this._items === null) body = `<p class="empty">${escape(t("loading"))}</p>`;
    else {
      body = open.length
        ? `<ul>${open.map((i) => this._row(i)).join("")}</ul>`
        : `<p class="empty">${escape(t("incidents.nothing"))}</p>`;
      if (done.length) {
        body += `<details class="done"><summary>${escape(tn("incidents.done", done.length))}</summary><ul>
          ${done
            .map(
              (i) => `<li><div class="summary">${escape(i.summary)}</div><div class="id">${escape(t("incidents.reviewed", { id: i.uid, time: clock(this._hass, i.completed) }))}</div></li>`,
            )
            .join("")}</ul></details>`;
      }
    }
    const title = `${this._config.title}${open.length ? ` (${open.length})` : ""}`;
    this.shadowRoot.innerHTML = `<style>
        ul { list-style: none; margin: 0; padding: 0 16px 8px; }
        li { padding: 10px 0; border-bottom: 1px solid var(--divider-color); }
        li:last-child { border-bottom: none; }
        .summary { font-weight: 600; }
        .id { color: var(--secondary-text-color); font-size: 0.9em; font-variant-numeric: tabular-nums; }
        details { margin-top: 4px; }
        details.done { padding: 0 16px 12px; }
        summary { cursor: pointer; color: var(--secondary-text-color); }
        pre { white-space: pre-wrap; font: inherit; font-size: 0.9em; margin: 4px 0; }
        form { display: grid; gap: 8px; margin-top: 8px; }
        label { display: grid; gap: 4px; font-size: 0.95em; }
        textarea, input { font: inherit; padding: 8px; border-radius: 6px;
                          border: 1px solid var(--divider-color); background: var(--card-background-color);
                          color: var(--primary-text-color); }
        .empty { padding: 0 16px 16px; margin: 0; color: var(--secondary-text-color); }
        ${BUTTON_CSS}
      </style><ha-card header="${escape(title)}">${body}</ha-card>`;
    const root = this.shadowRoot;
    root.querySelectorAll('button[data-do="review"]').forEach((b) =>
      b.addEventListener("click", () => {
        this._open = b.dataset.uid;
        this._render();
        root.querySelector("textarea")?.focus();
      }),
    );
    root.querySelectorAll('button[data-do="cancel"]').forEach((b) =>
      b.addEventListener("click", () => {
        this._open = null;
        this._render();
      }),
    );
    root.querySelectorAll("form").forEach((form) =>
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const item = open.find((i) => i.uid === form.dataset.uid);
        if (item) this._complete(item, form);
      }),
    );
  }
}

// The card `custom:smart-library-usage-card`: a branch's (or the whole county's) use from the
// long-term statistics the integration keeps (recorder/statistics_during_period, open to every
// user: counts only): a day in hourly bars, or a week in daily bars; entries by mode and by age
// band, refusals by reason, people inside (the peak of each hour or day). For administrators
// (`csv: true`) a button downloads the month as CSV through the `export_usage` action.
const SERIES_COLOURS = ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#d62728", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const ACRONYMS = { pin: "PIN", lms: "LMS" };
// A series' name: a mode, an age band (`series.<key>`) or a refusal's reason (`reason.<key>`, from
// the integration's entity translations); else its key in words.
const words = (key) =>
  TEXTS[`series.${key}`] ||
  TEXTS[`reason.${key}`] ||
  ENGLISH[`series.${key}`] ||
  key
    .split("_")
    .map((w, n) => ACRONYMS[w] || (n === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : w))
    .join(" ");

class SmartLibraryUsageCard extends HTMLElement {
  setConfig(config) {
    if (!Array.isArray(config.branches) || !config.branches.length) {
      throw new Error("branches: the library branches to draw");
    }
    this._config = { title: t("usage.title"), ...config };
    this._branch = config.branches.length > 1 ? -1 : 0; // -1: the county total
    this._period = "day";
    this._anchor = new Date();
    this._anchor.setHours(0, 0, 0, 0);
    this._data = null;
    this._note = "";
    this._render();
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (first) this._load();
  }

  connectedCallback() {
    this._timer = setInterval(() => this._load(), 300_000);
  }

  disconnectedCallback() {
    clearInterval(this._timer);
  }

  getCardSize() {
    return 12;
  }

  getGridOptions() {
    return { columns: "full", rows: "auto" };
  }

  _chosen() {
    const all = this._config.branches;
    return this._branch < 0 ? all : [all[this._branch]];
  }

  // The slots shown: 24 hours of the anchor day, or the 7 days ending with it.
  _slots() {
    const slots = [];
    if (this._period === "day") {
      for (let h = 0; h < 24; h++) {
        const start = new Date(this._anchor);
        start.setHours(h);
        const end = new Date(start);
        end.setHours(h + 1);
        slots.push({ start, end, label: h % 3 === 0 ? String(h).padStart(2, "0") : "", name: `${String(h).padStart(2, "0")}:00–${String(h + 1).padStart(2, "0")}:00` });
      }
    } else {
      const locale = this._hass?.locale?.language || undefined;
      for (let d = 6; d >= 0; d--) {
        const start = new Date(this._anchor);
        start.setDate(start.getDate() - d);
        const end = new Date(start);
        end.setDate(end.getDate() + 1);
        const label = start.toLocaleDateString(locale, { weekday: "short" });
        slots.push({ start, end, label, name: start.toLocaleDateString(locale, { weekday: "long", day: "numeric", month: "short" }) });
      }
    }
    return slots;
  }

  async _load() {
    if (!this._hass || !this._config) return;
    const slots = this._slots();
    const ids = new Set();
    for (const branch of this._chosen()) {
      for (const list of Object.values(branch.statistics || {})) list.forEach((id) => ids.add(id));
    }
    if (!ids.size) {
      this._data = {};
      return this._render();
    }
    const wanted = `${this._branch}|${this._period}|${this._anchor.toISOString()}`;
    this._wanted = wanted;
    try {
      const rows = await this._hass.callWS({
        type: "recorder/statistics_during_period",
        start_time: slots[0].start.toISOString(),
        end_time: slots[slots.length - 1].end.toISOString(),
        statistic_ids: [...ids],
        period: this._period === "day" ? "hour" : "day",
        types: ["change", "max"],
      });
      if (this._wanted !== wanted) return; // a later choice is loading
      this._data = rows || {};
      this._failed = "";
    } catch (err) {
      this._failed = failure(err, false);
      this._data = {};
    }
    this._render();
  }

  // Sum, per slot, the rows of each series (its key: the metric after the branch's prefix).
  _series(group) {
    const slots = this._slots();
    const series = new Map();
    for (const branch of this._chosen()) {
      for (const id of branch.statistics?.[group] || []) {
        let key = id.slice(branch.prefix.length);
        key = key.replace(/^entries_|^age_|^refusals_/, "");
        const values = series.get(key) || new Array(slots.length).fill(0);
        for (const row of this._data?.[id] || []) {
          const start = typeof row.start === "number" ? row.start : Date.parse(row.start);
          const n = slots.findIndex((s) => start >= s.start.getTime() && start < s.end.getTime());
          if (n < 0) continue;
          const value = group === "occupancy" ? row.max : row.change;
          if (typeof value === "number" && value > 0) values[n] += value;
        }
        series.set(key, values);
      }
    }
    return [...series.entries()].filter(([, values]) => values.some((v) => v > 0));
  }

  // One chart: `total` names the sum ("12 people in all"); without it, the peak.
  _chart(title, group, total) {
    const slots = this._slots();
    const series = this._series(group);
    if (!series.length) {
      return `<section><h3>${escape(title)}</h3><p class="empty">${escape(t(this._period === "day" ? "usage.nothing_day" : "usage.nothing_week"))}</p></section>`;
    }
    const totals = slots.map((_, n) => series.reduce((sum, [, v]) => sum + v[n], 0));
    const top = Math.max(...totals, 1);
    const sum = totals.reduce((a, b) => a + b, 0);
    const headline = total ? tn(total, Math.round(sum)) : t("usage.peak", { count: Math.max(...totals) });
    const colour = (k) => SERIES_COLOURS[series.findIndex(([key]) => key === k) % SERIES_COLOURS.length];
    const bars = slots
      .map((slot, n) => {
        const parts = series
          .filter(([, v]) => v[n] > 0)
          .map(([key, v]) => `<i style="height:${(100 * v[n]) / top}%;background:${colour(key)}"></i>`)
          .join("");
        const tip = `${slot.name}: ${series.filter(([, v]) => v[n] > 0).map(([k, v]) => `${words(k)} ${Math.round(v[n])}`).join(", ") || t("usage.none")}`;
        return `<div class="slot" title="${escape(tip)}"><div class="bar">${parts}</div><span>${escape(slot.label)}</span></div>`;
      })
      .join("");
    const legend = series
      .map(([key]) => `<span class="key"><i style="background:${colour(key)}"></i>${escape(words(key))}</span>`)
      .join("");
    return `<section><h3>${escape(title)} <small>${escape(headline)}</small></h3>
      <div class="chart"><div class="scale">${top}</div>${bars}</div><div class="legend">${legend}</div></section>`;
  }

  async _csv(branch) {
    const month = `${this._anchor.getFullYear()}-${String(this._anchor.getMonth() + 1).padStart(2, "0")}`;
    this._note = "";
    try {
      const reply = await this._hass.callWS({
        type: "call_service",
        domain: "smart_library",
        service: "export_usage",
        service_data: { branch: branch.device, month },
        return_response: true,
      });
      const csv = reply?.response?.csv ?? "";
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
      link.download = `usage-${branch.title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${month}.csv`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      this._note = tn("usage.downloaded", Number(reply?.response?.hours ?? 0), { branch: branch.title, month });
    } catch (err) {
      this._note = failure(err, true);
    }
    this._render();
  }

  _render() {
    if (!this._config) return;
    if (!this.shadowRoot) this.attachShadow({ mode: "open" });
    const c = this._config;
    const locale = this._hass?.locale?.language || undefined;
    const options = [
      ...(c.branches.length > 1 ? [[-1, t("usage.county")]] : []),
      ...c.branches.map((b, n) => [n, b.title]),
    ]
      .map(([n, t]) => `<option value="${n}" ${n === this._branch ? "selected" : ""}>${escape(t)}</option>`)
      .join("");
    const day = this._anchor.toLocaleDateString(locale, { weekday: "long", day: "numeric", month: "long" });
    const span = this._period === "day" ? day : t("usage.week_to", { day });
    let body;
    if (this._failed) body = `<p class="empty">${escape(t("usage.unavailable", { error: this._failed }))}</p>`;
    else if (this._data === null) body = `<p class="empty">${escape(t("loading"))}</p>`;
    else {
      const per = this._period === "day" ? "hour" : "day";
      body = [
        this._chart(t(`usage.modes_${per}`), "modes", "usage.people_in_all"),
        this._chart(t(`usage.ages_${per}`), "ages", "usage.people_in_all"),
        this._chart(t(`usage.refusals_${per}`), "refusals", "usage.attempts_in_all"),
        this._chart(t(`usage.occupancy_${per}`), "occupancy", ""),
      ].join("");
    }
    const csv = c.csv
      ? `<div class="csv">${this._chosen()
          .filter((b) => b.device)
          .map((b, n) => `<button data-csv="${n}">${escape(this._branch < 0 ? t("usage.csv_branch", { branch: b.title }) : t("usage.csv_month"))}</button>`)
          .join("")}${this._note ? `<p>${escape(this._note)}</p>` : ""}</div>`
      : "";
    this.shadowRoot.innerHTML = `<style>
        .controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; padding: 0 16px; }
        select, .controls button { font: inherit; padding: 6px 10px; border-radius: 6px; margin: 0;
                                   border: 1px solid var(--divider-color); min-height: 36px;
                                   background: var(--card-background-color); color: var(--primary-text-color); }
        .controls button[aria-pressed="true"] { background: var(--primary-color); color: var(--text-primary-color, #fff); }
        .span { padding: 8px 16px 0; font-weight: 600; }
        section { padding: 8px 16px; }
        h3 { margin: 8px 0; font-size: 1em; }
        small { color: var(--secondary-text-color); font-weight: normal; }
        .chart { position: relative; display: flex; align-items: stretch; height: 140px; gap: 2px;
                 border-bottom: 1px solid var(--divider-color); padding-bottom: 18px; }
        .scale { position: absolute; top: -2px; left: 0; font-size: 0.75em; color: var(--secondary-text-color); }
        .slot { flex: 1 1 0; display: flex; flex-direction: column; justify-content: flex-end; min-width: 0; position: relative; }
        .bar { display: flex; flex-direction: column-reverse; justify-content: flex-start; height: 100%; }
        .bar i { display: block; width: 100%; min-height: 1px; }
        .slot span { position: absolute; bottom: -18px; left: 0; font-size: 0.75em; color: var(--secondary-text-color); white-space: nowrap; }
        .legend { display: flex; flex-wrap: wrap; gap: 4px 12px; margin-top: 6px; font-size: 0.9em; }
        .key i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
        .empty { margin: 0; color: var(--secondary-text-color); }
        .csv { padding: 0 16px 16px; }
        ${BUTTON_CSS}
      </style><ha-card header="${escape(c.title)}">
        <div class="controls">
          <select aria-label="${escape(t("usage.branch"))}">${options}</select>
          <button data-period="day" aria-pressed="${this._period === "day"}">${escape(t("usage.day"))}</button>
          <button data-period="week" aria-pressed="${this._period === "week"}">${escape(t("usage.week"))}</button>
          <button data-move="-1" aria-label="${escape(t("usage.earlier"))}">‹</button>
          <button data-move="1" aria-label="${escape(t("usage.later"))}">›</button>
        </div>
        <div class="span">${escape(span)}</div>${body}${csv}</ha-card>`;
    const root = this.shadowRoot;
    root.querySelector("select").addEventListener("change", (ev) => {
      this._branch = Number(ev.target.value);
      this._load();
      this._render();
    });
    root.querySelectorAll("[data-period]").forEach((b) =>
      b.addEventListener("click", () => {
        this._period = b.dataset.period;
        this._load();
        this._render();
      }),
    );
    root.querySelectorAll("[data-move]").forEach((b) =>
      b.addEventListener("click", () => {
        const step = Number(b.dataset.move) * (this._period === "day" ? 1 : 7);
        this._anchor.setDate(this._anchor.getDate() + step);
        this._load();
        this._render();
      }),
    );
    root.querySelectorAll("[data-csv]").forEach((b) =>
      b.addEventListener("click", () => this._csv(this._chosen().filter((x) => x.device)[Number(b.dataset.csv)])),
    );
  }
}

// The card `custom:smart-library-cover-card`: staffed cover nearby. Every smart (self-access)
// period of the weeks ahead during which none of its branch's neighbours is staffed, read from the
// integration's subscription `smart_library/cover/subscribe` (branch names and times only; sent
// again whenever any branch's hours or neighbours change). Compact: one line per branch with its
// first periods; out of sight while every smart period has a staffed library nearby.
//   type: custom:smart-library-cover-card
//   shown: 3          (periods listed per branch before "and N more")
class SmartLibraryCoverCard extends HTMLElement {
  setConfig(config) {
    this._config = { shown: 3, ...config };
    this._periods = [];
    this._weeks = 4;
    this._render();
  }

  set hass(hass) {
    this._hass = hass;
    if (!this._unsubscribe && this.isConnected && this._mayRetry()) this._subscribe();
  }

  connectedCallback() {
    if (this._hass && !this._unsubscribe && this._mayRetry()) this._subscribe();
  }

  // Not while a refused subscription is recent: the frontend sets `hass` at every state change,
  // and an integration that is not running would be asked again each time.
  _mayRetry() {
    return !this._failedAt || Date.now() - this._failedAt > 60000;
  }

  disconnectedCallback() {
    if (this._unsubscribe) {
      this._unsubscribe.then((unsubscribe) => unsubscribe()).catch(() => {});
      this._unsubscribe = undefined;
    }
  }

  getCardSize() {
    return this._periods.length ? 3 : 0;
  }

  getGridOptions() {
    return { columns: "full", rows: "auto" };
  }

  _subscribe() {
    this._unsubscribe = this._hass.connection
      .subscribeMessage(
        (message) => {
          this._periods = message.periods || [];
          this._weeks = message.weeks || 4;
          this._render();
        },
        { type: "smart_library/cover/subscribe" },
      )
      .catch(() => {
        this._unsubscribe = undefined; // not running: nothing to show, asked again in a minute
        this._failedAt = Date.now();
      });
  }

  // Out of sight while there is nothing to list. Not through the `hidden` attribute: Home
  // Assistant's card wrapper then takes the card out of the page, which would end its
  // subscription, and it would never learn of periods to show again.
  _hide(hidden) {
    this.style.display = hidden ? "none" : "";
  }

  // "Mon 30 Nov 13:00–17:00" in Home Assistant's time zone.
  _when(p) {
    const zone = this._hass?.config?.time_zone;
    const locale = this._hass?.locale?.language || undefined;
    const day = (iso) => new Date(iso).toLocaleDateString(locale, { weekday: "short", day: "numeric", month: "short", timeZone: zone });
    const time = (iso) => new Date(iso).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit", timeZone: zone });
    const end = day(p.end) === day(p.start) ? time(p.end) : `${day(p.end)} ${time(p.end)}`;
    return `${day(p.start)} ${time(p.start)}–${end}`;
  }

  _render() {
    if (!this._config) return;
    if (!this.shadowRoot) this.attachShadow({ mode: "open" });
    this._hide(!this._periods.length);
    if (!this._periods.length) {
      this.shadowRoot.innerHTML = "";
      return;
    }
    const byBranch = new Map();
    for (const p of this._periods) {
      const key = p.branch_id;
      if (!byBranch.has(key)) byBranch.set(key, { name: p.branch, periods: [] });
      byBranch.get(key).periods.push(p);
    }
    const shown = Number(this._config.shown) || 3;
    const rows = [...byBranch.values()]
      .map((b) => {
        const first = b.periods.slice(0, shown).map((p) => escape(this._when(p))).join(", ");
        const more = b.periods.length > shown ? ` ${escape(t("cover.more", { count: b.periods.length - shown }))}` : "";
        return `<li><b>${escape(b.name)}</b>: ${first}${more}</li>`;
      })
      .join("");
    const title = tn("cover.title", this._periods.length);
    this.shadowRoot.innerHTML = `<style>
        ha-card { padding: 12px 16px; border-left: 6px solid var(--warning-color, #ffa600); }
        h2 { margin: 0; font-size: 1.1em; display: flex; gap: 8px; align-items: center; }
        ul { margin: 6px 0 0; padding-left: 20px; }
        li { margin: 2px 0; }
        p { margin: 6px 0 0; color: var(--secondary-text-color); font-size: 0.9em; }
      </style><ha-card class="cover"><h2><ha-icon icon="mdi:account-clock"></ha-icon><span>${escape(title)}</span></h2>
        <ul>${rows}</ul><p>${escape(t("cover.weeks", { weeks: this._weeks }))}</p></ha-card>`;
  }
}

const CARD = "smart-library-attempts-card";
const CARDS = [
  [CARD, SmartLibraryAttemptsCard, "recent attempts", "A branch's recent attempts at its doors, with reason and masked card."],
  ["smart-library-banner-card", SmartLibraryBannerCard, "state banner", "A fire alarm, a reset needed, a lockdown or nobody on call, full width."],
  ["smart-library-incidents-card", SmartLibraryIncidentsCard, "incidents to review", "A branch's incidents, completed with the actions taken and a police reference."],
  ["smart-library-usage-card", SmartLibraryUsageCard, "usage", "Entries, refusals and people inside by hour or day, per branch or county."],
  ["smart-library-cover-card", SmartLibraryCoverCard, "staffed cover nearby", "Smart periods of the weeks ahead with no neighbouring library staffed; hidden while there are none."],
];
window.customCards = window.customCards || [];
for (const [type, , name, description] of CARDS) {
  if (!window.customCards.some((c) => c.type === type)) {
    window.customCards.push({ type, name: `Smart Library: ${name}`, description });
  }
}

const TAG = `ll-strategy-dashboard-${STRATEGY}`;

// Define the strategy (and the card) in the registry the frontend looks it up in. While the frontend boots it
// may replace window.customElements (a scoped custom element registry): an element defined in the
// registry it replaced is never found, and the dashboard fails with "Timeout waiting for strategy
// element". This module can run before or after that, so it defines the strategy once the app
// (<home-assistant>) is defined, and again in any registry that replaces that one later.
function define() {
  const registry = window.customElements;
  for (const [tag, element] of [[TAG, SmartLibraryDashboardStrategy], ...CARDS]) {
    if (registry.get(tag)) continue;
    try {
      registry.define(tag, class extends element {});
    } catch (err) {
      console.error(`Smart Library: cannot define ${tag}`, err);
    }
  }
  return registry;
}

const WATCH_MS = 60_000;
const started = Date.now();
let defined = null;
(function watch() {
  const late = Date.now() - started >= WATCH_MS;
  const booted = window.customElements.get("home-assistant");
  if ((booted || late) && defined !== window.customElements) defined = define();
  if (!late) setTimeout(watch, 50);
})();
