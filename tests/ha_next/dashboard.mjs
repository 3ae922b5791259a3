// The Smart Library dashboard on Home Assistant's next release, in headless Chromium (Debian's
// package) driven by Playwright (playwright-core from npm). Run by scripts/ha_next_check against
// the Home Assistant that tests/ha_next/check.py started:
//
//   node tests/ha_next/dashboard.mjs READY_JSON SCREENSHOT_DIR
//
// Lighter than tests/browser/dashboard.mjs (the full browser test, on the harness's release): log
// in through the login form, open the overview and the branch's view at desktop width, and check
// the strategy rendered them — the branch and its key cards shown, no card failed
// (`hui-error-card`), no strategy error, no uncaught error in the page, no console warning or error
// that names Smart Library. Screenshots go to SCREENSHOT_DIR. Environment: CHROMIUM (the browser),
// PLAYWRIGHT (the playwright-core folder).
// Exits 1 with the reason on the first failed check.

import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT);

const [readyFile, shots] = process.argv.slice(2);
const ready = JSON.parse(readFileSync(readyFile, "utf8"));
mkdirSync(shots, { recursive: true });
const TIMEOUT = 30_000;
const started = Date.now();

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function settled(page) {
  await page.waitForFunction(
    () => {
      const root = document.querySelector("home-assistant");
      return root && !document.querySelector("ha-init-page") && root.shadowRoot;
    },
    null,
    { timeout: TIMEOUT },
  );
  await page.locator("hui-view, hui-sections-view").first().waitFor({ timeout: TIMEOUT });
  await page.waitForLoadState("networkidle");
  await page.waitForTimeout(500); // lazy cards (logbook, calendar) attach after the first paint
}

async function rendered(page, texts, where) {
  for (const text of texts) {
    try {
      await page.getByText(text, { exact: false }).first().waitFor({ state: "visible", timeout: TIMEOUT });
    } catch {
      throw new Error(`${where}: "${text}" not shown`);
    }
  }
  const errors = await page.locator("hui-error-card").count();
  check(errors === 0, `${where}: ${errors} error card(s) (hui-error-card)`);
  check(
    (await page.getByText("Error loading the dashboard strategy").count()) === 0,
    `${where}: the dashboard strategy failed to load`,
  );
  check(
    (await page.getByText("Smart Library is not running").count()) === 0,
    `${where}: the strategy says the integration did not answer`,
  );
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const base = `${ready.url}/${ready.dashboard}`;
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: "en-GB" });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const pageErrors = [];
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  // The frontend's own warnings about our strategy (a deprecated API it uses) fail the check too.
  const ours = [];
  page.on("console", (message) => {
    const text = message.text();
    if (["warning", "error"].includes(message.type()) && /smart[-_]library/i.test(text)) {
      ours.push(`${message.type()}: ${text}`);
    }
  });

  await page.goto(`${base}/overview`);
  await page.waitForURL(/\/auth\/authorize/, { timeout: TIMEOUT });
  await page.getByLabel("Username").fill(ready.username);
  await page.getByLabel("Password", { exact: true }).fill(ready.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${base}/overview`, { timeout: TIMEOUT });
  await settled(page);
  await rendered(page, [ready.branch, "Mode", "Closes at"], "overview");
  await page.screenshot({ path: join(shots, "overview.png"), fullPage: true });

  await page.goto(`${base}/${ready.branch_path}`);
  await settled(page);
  await rendered(page, ["Alarms", "Doors", "Entrance door", "Opening hours"], ready.branch);
  await page.screenshot({ path: join(shots, "branch.png"), fullPage: true });

  check(pageErrors.length === 0, `uncaught errors in the page: ${pageErrors.join("; ")}`);
  check(ours.length === 0, `the browser's console about Smart Library: ${ours.join("; ")}`);
  console.log(
    `Dashboard rendered on Home Assistant ${ready.version} in ${((Date.now() - started) / 1000).toFixed(1)} s (overview, ${ready.branch})`,
  );
} catch (err) {
  console.error(`FAILED: ${err.message || err}`);
  process.exitCode = 1;
  for (const context of browser.contexts()) {
    for (const open of context.pages()) {
      await open.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => {});
      console.error(`  page: ${open.url()} (screenshot failure.png)`);
    }
  }
} finally {
  await browser.close();
}
