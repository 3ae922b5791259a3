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
if (!customElements.get(TAG)) {
  customElements.define(TAG, SmartLibraryDashboardStrategy);
}
