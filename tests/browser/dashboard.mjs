// The Smart Library dashboard in a real browser: headless Chromium (Debian's package) driven by
// Playwright (playwright-core from npm; it downloads no browser). Run by scripts/browser_test,
// against the Home Assistant that tests/browser/stack.py started:
//
//   node tests/browser/dashboard.mjs STACK_JSON SCREENSHOT_DIR
//
// As a duty manager would: log in through Home Assistant's own login form, open the county
// overview and a branch's view at desktop (1400x1000) and phone (390x844) width, then again while
// the branch's fire alarm is on (set through the simulator's control port with scripts/sim, as
// README tells a developer to). Asserts the key cards are there, no card failed (`hui-error-card`,
// a strategy error), nothing is wider than the phone, and the fire alarm is shown. Screenshots go
// to SCREENSHOT_DIR (git-ignored). Environment: CHROMIUM (the browser), PLAYWRIGHT (the
// playwright-core folder). Exits 1 with the reason on the first failed check.

import { execFileSync } from "node:child_process";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT);
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const [stackFile, shots] = process.argv.slice(2);
const stack = JSON.parse(readFileSync(stackFile, "utf8"));
mkdirSync(shots, { recursive: true });

const DESKTOP = { width: 1400, height: 1000 };
const PHONE = { width: 390, height: 844 };
const FIRE_BRANCH = "Oadby Library";
const TIMEOUT = 30_000;
const started = Date.now();
const timings = [];

function fail(message) {
  console.error(`FAILED: ${message}`);
  process.exitCode = 1;
  throw new Error(message);
}

function check(condition, message) {
  if (!condition) fail(message);
}

async function step(name, fn) {
  const t = Date.now();
  await fn();
  timings.push(`${name} ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

// Drive the simulated building as a developer does: scripts/sim --port P fire on.
function sim(branch, ...command) {
  const port = String(stack.branches[branch].control_port);
  return execFileSync(join(REPO, "scripts", "sim"), ["--port", port, ...command], {
    encoding: "utf8",
    timeout: 60_000,
  }).trim();
}

// Wait until the dashboard has rendered: the view's cards are in, no strategy still loading.
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

async function noErrors(page, where) {
  const errors = await page.locator("hui-error-card").count();
  check(errors === 0, `${where}: ${errors} error card(s) (hui-error-card)`);
  const strategy = await page.getByText("Error loading the dashboard strategy").count();
  check(strategy === 0, `${where}: the dashboard strategy failed to load`);
  const notRunning = await page.getByText("Smart Library is not running").count();
  check(notRunning === 0, `${where}: the strategy says the integration did not answer`);
}

async function fitsWidth(page, viewport, where) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= viewport.width, `${where}: ${wide} px wide in a ${viewport.width} px screen`);
}

async function visible(page, text, where) {
  const found = page.getByText(text, { exact: false }).first();
  try {
    await found.waitFor({ state: "visible", timeout: TIMEOUT });
  } catch {
    fail(`${where}: "${text}" not shown`);
  }
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
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
  const base = `${stack.url}/${stack.dashboard}`;
  const branches = Object.keys(stack.branches);
  const desktop = await browser.newContext({ viewport: DESKTOP, locale: "en-GB" });
  const page = await desktop.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const consoleErrors = [];
  page.on("pageerror", (err) => consoleErrors.push(String(err)));

  await step("log in through the login form", async () => {
    await page.goto(`${base}/overview`);
    await page.waitForURL(/\/auth\/authorize/, { timeout: TIMEOUT });
    await page.getByLabel("Username").fill(stack.username);
    await page.getByLabel("Password", { exact: true }).fill(stack.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(`${base}/overview`, { timeout: TIMEOUT });
    await settled(page);
  });

  const views = async (target, viewport, label) => {
    await step(`overview ${label}`, async () => {
      await target.goto(`${base}/overview`);
      await settled(target);
      await noErrors(target, `overview ${label}`); // a strategy that failed says why first
      for (const branch of branches) await visible(target, branch, `overview ${label}`);
      for (const row of ["Closes at", "People inside", "Controller", "Unacknowledged alarms"]) {
        await visible(target, row, `overview ${label}`);
      }
      await noErrors(target, `overview ${label}`);
      await fitsWidth(target, viewport, `overview ${label}`);
    });
    await step(`branch view ${label}`, async () => {
      await target.goto(`${base}/${stack.branches[FIRE_BRANCH].path}`);
      await settled(target);
      for (const heading of ["Alarms", "Doors", "At the doors", "Opening hours"]) {
        await visible(target, heading, `${FIRE_BRANCH} ${label}`);
      }
      await visible(target, "Entrance door", `${FIRE_BRANCH} ${label}`);
      // Recent attempts: each with its reason and masked card (the stack tried a wrong PIN).
      check(stack.attempts[FIRE_BRANCH][0] === "wrong_pin", "the stack's wrong PIN was not refused");
      const recent = target.locator("smart-library-attempts-card");
      await recent.getByText("Wrong PIN").first().waitFor({ timeout: TIMEOUT });
      await recent.getByText("••••0001").first().waitFor({ timeout: TIMEOUT });
      const noise = await recent.getByText(/Unknown|Unavailable/).count();
      check(noise === 0, `${FIRE_BRANCH} ${label}: start-up states among the recent attempts`);
      await noErrors(target, `${FIRE_BRANCH} ${label}`);
      await fitsWidth(target, viewport, `${FIRE_BRANCH} ${label}`);
    });
  };

  // The phone: a second browser window with the same login (Home Assistant's tokens).
  const phone = await browser.newContext({
    viewport: PHONE,
    isMobile: true,
    hasTouch: true,
    locale: "en-GB",
    storageState: await desktop.storageState(),
  });
  const phonePage = await phone.newPage();
  phonePage.setDefaultTimeout(TIMEOUT);
  phonePage.on("pageerror", (err) => consoleErrors.push(String(err)));

  await views(page, DESKTOP, "desktop");
  await shot(page, "branch-desktop");
  await page.goto(`${base}/overview`);
  await settled(page);
  await shot(page, "overview-desktop");
  await views(phonePage, PHONE, "phone");
  await shot(phonePage, "branch-phone");
  await phonePage.goto(`${base}/overview`);
  await settled(phonePage);
  await shot(phonePage, "overview-phone");
  await step("usage view", async () => {
    await page.goto(`${base}/statistics`);
    await settled(page);
    await visible(page, "Entries per hour by mode", "usage");
    await noErrors(page, "usage");
    await shot(page, "usage-desktop");
  });

  await step("fire alarm on (scripts/sim fire on)", async () => {
    const reply = sim(FIRE_BRANCH, "fire", "on");
    console.log(`  scripts/sim fire on: ${reply.split("\n")[0]}`);
  });
  const fire = `FIRE ALARM — ${FIRE_BRANCH}`;
  for (const [target, viewport, label] of [
    [page, DESKTOP, "desktop"],
    [phonePage, PHONE, "phone"],
  ]) {
    await step(`fire shown ${label}`, async () => {
      await target.goto(`${base}/overview`);
      await settled(target);
      await visible(target, fire, `overview during the fire alarm, ${label}`);
      // Only the branch on fire says so.
      const others = await target.getByText("FIRE ALARM — Wigston Library").count();
      check(others === 0, `overview ${label}: a fire alarm shown for a branch without one`);
      await noErrors(target, `overview during the fire alarm, ${label}`);
      await fitsWidth(target, viewport, `overview during the fire alarm, ${label}`);
      await shot(target, `fire-overview-${label}`);
      await target.goto(`${base}/${stack.branches[FIRE_BRANCH].path}`);
      await settled(target);
      await visible(target, fire, `${FIRE_BRANCH} during the fire alarm, ${label}`);
      await visible(target, "EVACUATION", `${FIRE_BRANCH} during the fire alarm, ${label}`);
      await noErrors(target, `${FIRE_BRANCH} during the fire alarm, ${label}`);
      await shot(target, `fire-branch-${label}`);
    });
  }
  check(consoleErrors.length === 0, `uncaught errors in the page: ${consoleErrors.join("; ")}`);
  console.log(`Browser test passed in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
  for (const line of timings) console.log(`  ${line}`);
  console.log(`Screenshots: ${shots}`);
} catch (err) {
  if (!process.exitCode) {
    console.error(`FAILED: ${err.stack || err}`);
    process.exitCode = 1;
  }
  // What the browser showed when it failed.
  let n = 0;
  for (const context of browser.contexts()) {
    for (const open of context.pages()) {
      n += 1;
      await open
        .screenshot({ path: join(shots, `failure-${n}.png`), fullPage: true })
        .catch(() => {});
      console.error(`  page ${n}: ${open.url()} (screenshot failure-${n}.png)`);
    }
  }
} finally {
  await browser.close();
}
