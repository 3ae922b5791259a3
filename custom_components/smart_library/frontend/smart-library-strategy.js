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

const TAG = `ll-strategy-dashboard-${STRATEGY}`;

// Define the strategy in the registry the frontend looks it up in. While the frontend boots it
// may replace window.customElements (a scoped custom element registry): an element defined in the
// registry it replaced is never found, and the dashboard fails with "Timeout waiting for strategy
// element". This module can run before or after that, so it defines the strategy once the app
// (<home-assistant>) is defined, and again in any registry that replaces that one later.
function define() {
  const registry = window.customElements;
  if (!registry.get(TAG)) {
    try {
      registry.define(TAG, class extends SmartLibraryDashboardStrategy {});
    } catch (err) {
      console.error(`Smart Library: cannot define ${TAG}`, err);
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
