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

class SmartLibraryDashboardStrategy extends HTMLElement {
  static async generate(config, hass) {
    // The dashboard's own URL path ("smart-library" in /smart-library/overview), for the links
    // from the overview to each branch's view.
    const dashboard = window.location.pathname.split("/")[1] || undefined;
    try {
      return await hass.callWS({ type: "smart_library/dashboard", dashboard });
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
      title: "Recent attempts",
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
        const card = attributes.card ? `card ${attributes.card}` : "";
        const party = type === "granted" && attributes.party > 1 ? `${attributes.party} people` : "";
        return `<li class="${escape(type)}"><span class="time">${escape(day + time)}</span>
          <span class="what"><b>${escape(door)}</b> ${escape(outcome)}${reason ? ` — ${escape(reason)}` : ""}</span>
          <span class="who">${escape([party, card].filter(Boolean).join(", "))}</span></li>`;
      });
    const body = this._failed
      ? `<p class="empty">The history is not available: ${escape(this._failed)}</p>`
      : rows.length
        ? `<ul>${rows.join("")}</ul>`
        : `<p class="empty">No attempts at the doors in the last ${escape(this._config.hours)} hours.</p>`;
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

const CARD = "smart-library-attempts-card";
window.customCards = window.customCards || [];
if (!window.customCards.some((c) => c.type === CARD)) {
  window.customCards.push({
    type: CARD,
    name: "Smart Library: recent attempts",
    description: "A branch's recent attempts at its doors, with reason and masked card.",
  });
}

const TAG = `ll-strategy-dashboard-${STRATEGY}`;

// Define the strategy (and the card) in the registry the frontend looks it up in. While the frontend boots it
// may replace window.customElements (a scoped custom element registry): an element defined in the
// registry it replaced is never found, and the dashboard fails with "Timeout waiting for strategy
// element". This module can run before or after that, so it defines the strategy once the app
// (<home-assistant>) is defined, and again in any registry that replaces that one later.
function define() {
  const registry = window.customElements;
  for (const [tag, element] of [
    [TAG, SmartLibraryDashboardStrategy],
    [CARD, SmartLibraryAttemptsCard],
  ]) {
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
