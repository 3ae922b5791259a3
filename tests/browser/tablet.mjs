// The door tablet in a real browser: headless Chromium at 1280x800 (a landscape door tablet)
// against the Home Assistant that tests/browser/stack.py started. Run by scripts/browser_test
// after dashboard.mjs:
//
//   node tests/browser/tablet.mjs STACK_JSON SCREENSHOT_DIR
//
// As a library would use it: staff pair the tablet by pasting a reader key made with the admin
// action (stack.py made two); a member scans a card (a keyboard-wedge scanner: fast keys ending in
// Enter), types the PIN on the screen's pad and says how many under-16s are with them. Checked:
// granted, wrong PIN, closed (the mode override set to closed), locked out (a stranger's card, five
// wrong PINs), throttled (the reader refused too often), Home Assistant away (the request refused,
// then never answered, then Home Assistant really stopped), a revoked key, the staff's unpair
// gesture — and that the tablet keeps nothing but its key: no card or PIN in its storage, its
// address, its history or its console. Screenshots tablet-*.png go to SCREENSHOT_DIR.
// Environment: CHROMIUM, PLAYWRIGHT (as dashboard.mjs). Exits 1 with the reason on the first
// failed check.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT);

const [stackFile, shots] = process.argv.slice(2);
const stack = JSON.parse(readFileSync(stackFile, "utf8"));
const tablet = stack.tablet;
mkdirSync(shots, { recursive: true });

const VIEWPORT = { width: 1280, height: 800 };
const TIMEOUT = 30_000;
const PAGE = `${stack.url}/api/smart_library/tablet`;
const STORE = "smart_library_reader";
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

// -- Home Assistant's REST API, as an administrator (the stack's user) ------------------------

let token = "";

async function login() {
  const clientId = `${stack.url}/`;
  const json = { "Content-Type": "application/json" };
  let response = await fetch(`${stack.url}/auth/login_flow`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ client_id: clientId, handler: ["homeassistant", null], redirect_uri: clientId }),
  });
  const flow = await response.json();
  response = await fetch(`${stack.url}/auth/login_flow/${flow.flow_id}`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ username: stack.username, password: stack.password, client_id: clientId }),
  });
  const result = await response.json();
  check(result.type === "create_entry", `cannot log in as ${stack.username}`);
  response = await fetch(`${stack.url}/auth/token`, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "authorization_code", code: result.result, client_id: clientId }),
  });
  token = (await response.json()).access_token;
  check(Boolean(token), "no access token");
}

async function action(domain, service, data) {
  const response = await fetch(`${stack.url}/api/services/${domain}/${service}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(data),
  });
  check(response.ok, `${domain}.${service}: HTTP ${response.status} ${await response.text()}`);
}

async function override(option) {
  await action("select", "select_option", { entity_id: tablet.override, option });
}

// The reader endpoint, straight (as another reader on the same key would ask).
async function askDirect(card, pin) {
  const response = await fetch(`${stack.url}/api/smart_library/access`, {
    method: "POST",
    headers: { "X-Reader-Key": tablet.key, "Content-Type": "application/json" },
    body: JSON.stringify({ card, pin, door: "entrance" }),
  });
  return response.status;
}

// -- the tablet ---------------------------------------------------------------------------------

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `tablet-${name}.png`) });
}

async function shown(locator, what) {
  try {
    await locator.waitFor({ state: "visible", timeout: TIMEOUT });
  } catch {
    fail(`${what} not shown`);
  }
}

async function pair(page, key) {
  await shown(page.locator("#pair"), "the pairing screen");
  await page.locator("#pair-key").fill(key);
  await page.locator("#pair-go").click();
  await shown(page.locator("#step-card"), "the card prompt after pairing");
  await page.getByText(tablet.branch, { exact: true }).waitFor({ timeout: TIMEOUT });
  check((await page.locator("#pair-key").inputValue()) === "", "the key left in the pairing field");
}

// A keyboard-wedge scanner: the card's characters a few milliseconds apart, then Enter.
async function scan(page, card) {
  await shown(page.locator("#step-card"), "the card prompt");
  await page.keyboard.type(card, { delay: 4 });
  await page.keyboard.press("Enter");
  await shown(page.locator("#step-pin"), "the PIN pad");
}

async function typePin(page, pin) {
  for (const digit of pin) await page.locator(`#keypad button[data-key="${digit}"]`).click();
  const dots = await page.locator("#pin-dots").textContent();
  check(dots === "•".repeat(pin.length), `the PIN pad shows "${dots}", not ${pin.length} dots`);
}

async function answer(page) {
  await shown(page.locator("#answer"), "an answer");
  return {
    text: (await page.locator("#answer-text").textContent()).trim(),
    kind: await page.locator("#answer").getAttribute("class"),
  };
}

async function attempt(page, card, pin, { minors = 0, screenshot = "" } = {}) {
  await scan(page, card);
  await typePin(page, pin);
  for (let n = 0; n < minors; n += 1) await page.locator("#minors-more").click();
  if (screenshot) await shot(page, screenshot);
  await page.locator("#pin-enter").click();
  return answer(page);
}

async function done(page) {
  await page.locator("#answer-done").click();
  await shown(page.locator("#step-card"), "the card prompt after Done");
}

function expect(got, kind, text, where) {
  check(got.kind.includes(kind), `${where}: answer shown as "${got.kind}", not ${kind}`);
  const ok = text instanceof RegExp ? text.test(got.text) : got.text === text;
  check(ok, `${where}: answer "${got.text}", not ${text}`);
}

let baseHistory = 0; // history entries once the page is open (about:blank, then the page)

// What the tablet keeps: the key (and its door) in one localStorage item, nothing else anywhere.
async function keepsOnlyTheKey(page, where, { paired = true } = {}) {
  const kept = await page.evaluate(() => ({
    local: Object.fromEntries(Object.entries(localStorage)),
    session: Object.keys(sessionStorage).length,
    url: location.href,
    history: history.length,
    cookies: document.cookie,
    card: document.getElementById("card").value,
    text: document.body.innerText,
  }));
  const expected = paired ? [STORE] : [];
  check(
    JSON.stringify(Object.keys(kept.local)) === JSON.stringify(expected),
    `${where}: localStorage holds ${JSON.stringify(Object.keys(kept.local))}`,
  );
  if (paired) {
    const item = JSON.parse(kept.local[STORE]);
    check(
      JSON.stringify(Object.keys(item).sort()) === '["door","key"]',
      `${where}: the stored item holds ${Object.keys(item)}`,
    );
  }
  check(kept.session === 0, `${where}: sessionStorage is not empty`);
  check(kept.url === PAGE, `${where}: the address changed to ${kept.url}`);
  check(kept.history === baseHistory, `${where}: ${kept.history} history entries, not ${baseHistory}`);
  check(kept.cookies === "", `${where}: cookies set`);
  check(kept.card === "", `${where}: the card field still holds text`);
  const stored = JSON.stringify(kept.local);
  for (const secret of [tablet.card, tablet.pin, tablet.stranger, tablet.child, tablet.child_pin]) {
    check(!stored.includes(secret), `${where}: a card or PIN in localStorage`);
    check(!kept.text.includes(secret), `${where}: a card or PIN still on the screen`);
  }
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
  await login();
  // The induction walk before this one may have published a significant induction version:
  // the tablet's members are inducted on the current one, as staff would record at the desk.
  for (const card of [tablet.card, tablet.child]) {
    await action("smart_library", "record_induction", { config_entry_id: tablet.entry_id, card });
  }
  const context = await browser.newContext({ viewport: VIEWPORT, locale: "en-GB", hasTouch: true });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const consoleLines = [];
  const pageErrors = [];
  page.on("console", (message) => consoleLines.push(message.text()));
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  // Every request the page makes: the key only ever in the reader endpoint's header.
  const requests = [];
  page.on("request", (request) => requests.push(request));

  await step("pair with a reader key", async () => {
    await page.goto(PAGE);
    baseHistory = await page.evaluate(() => history.length);
    await shown(page.getByText("Pair this tablet", { exact: true }), "the pairing title");
    await shot(page, "pair");
    await pair(page, tablet.key);
    await shot(page, "card");
    await keepsOnlyTheKey(page, "after pairing");
  });

  await step("granted, with an under-16", async () => {
    const got = await attempt(page, tablet.card, tablet.pin, { minors: 1, screenshot: "pin" });
    expect(got, "granted", "Welcome", "granted");
    await shot(page, "granted");
    // The answer clears itself after a few seconds, with no touch.
    await shown(page.locator("#step-card"), "the card prompt after the grant cleared");
    await keepsOnlyTheKey(page, "after a grant");
  });

  await step("an under-16's own card, then the adult's", async () => {
    const got = await attempt(page, tablet.child, tablet.child_pin);
    expect(got, "refused", "Under-16s come in with an adult member", "an under-16 alone");
    await page.locator("#answer-adult").click();
    await shown(page.getByText("Adult: scan your library card"), "the adult's card prompt");
    await scan(page, tablet.card);
    check(!(await page.locator("#minors").isVisible()), "the under-16s counter shown to the adult");
    await typePin(page, tablet.pin);
    await page.locator("#pin-enter").click();
    expect(await answer(page), "granted", "Welcome", "an under-16 with an adult");
    await done(page);
  });

  await step("wrong PIN (and a card scanned again over the PIN pad)", async () => {
    await scan(page, tablet.card);
    await typePin(page, "12");
    // The scanner again while the PIN pad is up: a new card, the PIN starts again.
    await page.keyboard.type(tablet.card, { delay: 4 });
    await page.keyboard.press("Enter");
    await shown(page.locator("#step-pin"), "the PIN pad after a second scan");
    const dots = (await page.locator("#pin-dots").textContent()).trim();
    check(dots === "", `the PIN was not cleared by a second scan ("${dots}")`);
    await typePin(page, "0000");
    await page.locator("#pin-enter").click();
    const got = await answer(page);
    expect(got, "refused", "Wrong card or PIN. Please try again", "wrong PIN");
    await shot(page, "wrong-pin");
    await done(page);
  });

  await step("closed", async () => {
    await override("closed");
    const got = await attempt(page, tablet.card, tablet.pin);
    expect(got, "refused", /^Closed(\. Opens .+ \d\d:\d\d)?$/, "closed");
    await shot(page, "closed");
    await done(page);
    await override("automatic");
  });

  await step("locked out (a card nobody holds)", async () => {
    for (let n = 0; n < 5; n += 1) {
      const got = await attempt(page, tablet.stranger, "1111");
      expect(got, "refused", "Wrong card or PIN. Please try again", `stranger's wrong PIN ${n + 1}`);
      await done(page);
    }
    const got = await attempt(page, tablet.stranger, "2222");
    expect(got, "refused", /^Too many wrong PINs\. Try again in 1[45] min$/, "locked out");
    await shot(page, "locked-out");
    await done(page);
  });

  await step("throttled", async () => {
    // More refusals on the same key until the endpoint pauses the reader.
    let status = 0;
    for (let n = 0; n < 15 && status !== 429; n += 1) {
      status = await askDirect(`2123999988${String(n).padStart(4, "0")}`, "1111");
    }
    check(status === 429, "the reader was never throttled");
    const got = await attempt(page, tablet.card, tablet.pin);
    expect(got, "refused", /^Too many attempts\. This door is paused for [1-5] min$/, "throttled");
    await shot(page, "throttled");
    await done(page);
  });

  await step("Home Assistant away: the request refused", async () => {
    await page.route("**/api/smart_library/access", (route) => route.abort("connectionrefused"));
    const got = await attempt(page, tablet.card, tablet.pin);
    expect(got, "offline", "No connection. Please try again or ask staff", "connection refused");
    await shot(page, "no-connection");
    await page.unroute("**/api/smart_library/access");
    await shown(page.locator("#step-card"), "the card prompt after No connection cleared");
  });

  await step("Home Assistant away: no answer", async () => {
    await page.route("**/api/smart_library/access", () => {}); // never answered
    const got = await attempt(page, tablet.card, tablet.pin);
    expect(got, "offline", "No connection. Please try again or ask staff", "no answer");
    await page.unrouteAll({ behavior: "ignoreErrors" });
    await done(page);
    await keepsOnlyTheKey(page, "after the attempts");
  });

  await step("unpair (staff)", async () => {
    const box = await page.locator("#branch").boundingBox();
    const hold = async () => {
      await page.mouse.move(box.x + 20, box.y + box.height / 2);
      await page.mouse.down();
      await page.waitForTimeout(3500);
      await page.mouse.up();
      await shown(page.locator("#unpair"), "the unpair dialog");
    };
    // A short press does nothing.
    await page.mouse.move(box.x + 20, box.y + box.height / 2);
    await page.mouse.down();
    await page.waitForTimeout(500);
    await page.mouse.up();
    check(!(await page.locator("#unpair").isVisible()), "a short press opened the unpair dialog");
    await hold();
    await page.locator("#unpair-id").fill("0123456789abcdef");
    await page.locator("#unpair-go").click();
    await shown(page.getByText("That is not this tablet's key id"), "the refusal of a wrong key id");
    check((await page.evaluate((s) => localStorage.getItem(s), STORE)) !== null, "a wrong id unpaired");
    await page.locator("#unpair-id").fill(tablet.key.split(".")[0]);
    await page.locator("#unpair-go").click();
    await shown(page.locator("#pair"), "the pairing screen after unpairing");
    await keepsOnlyTheKey(page, "after unpairing", { paired: false });
  });

  await step("a revoked key", async () => {
    await pair(page, tablet.spare_key);
    await action("smart_library", "revoke_reader_key", { reader_key: "Wigston spare tablet" });
    const got = await attempt(page, tablet.card, tablet.pin);
    expect(got, "refused", "This tablet's key is not accepted. Please ask staff", "revoked key");
    await page.locator("#answer-done").click();
    await shown(page.locator("#pair"), "the pairing screen after the key was refused");
    await keepsOnlyTheKey(page, "after the key was refused", { paired: false });
    // A revoked key cannot pair again.
    await page.locator("#pair-key").fill(tablet.spare_key);
    await page.locator("#pair-go").click();
    await shown(page.getByText("Home Assistant does not accept this key"), "the refusal of a revoked key");
  });

  await step("Home Assistant stopped", async () => {
    await pair(page, tablet.key);
    // stack.py stops Home Assistant through its API when this file appears.
    writeFileSync(join(dirname(stackFile), "stop"), "");
    const deadline = Date.now() + 90_000;
    for (;;) {
      const up = await fetch(PAGE).then(() => true, () => false);
      if (!up) break;
      check(Date.now() < deadline, "Home Assistant did not stop");
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const got = await attempt(page, tablet.card, tablet.pin);
    expect(got, "offline", "No connection. Please try again or ask staff", "Home Assistant stopped");
    await shot(page, "home-assistant-stopped");
    await done(page);
    await keepsOnlyTheKey(page, "with Home Assistant stopped");
  });

  // The key went only to the reader endpoint, in its header; no card or PIN in any address.
  for (const request of requests) {
    const url = request.url();
    check(!url.includes(tablet.key.split(".")[1]), `the key in an address: ${url}`);
    for (const secret of [tablet.card, tablet.pin, tablet.stranger, tablet.child, tablet.child_pin]) {
      check(!url.includes(secret), `a card or PIN in an address: ${url}`);
    }
    const header = request.headers()["x-reader-key"];
    if (header) check(url.startsWith(`${stack.url}/api/smart_library/access`), `the key sent to ${url}`);
  }
  // The page logs nothing (the browser's own network errors aside), and never a card or PIN.
  for (const line of consoleLines) {
    for (const secret of [tablet.card, tablet.pin, tablet.stranger, tablet.child, tablet.key]) {
      check(!line.includes(secret), `a card, PIN or key in the console: ${line}`);
    }
  }
  check(pageErrors.length === 0, `uncaught errors in the page: ${pageErrors.join("; ")}`);
  console.log(`Tablet test passed in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
  for (const line of timings) console.log(`  ${line}`);
  console.log(`Screenshots: ${shots}/tablet-*.png`);
} catch (err) {
  if (!process.exitCode) {
    console.error(`FAILED: ${err.stack || err}`);
    process.exitCode = 1;
  }
  for (const context of browser.contexts()) {
    for (const open of context.pages()) {
      await open.screenshot({ path: join(shots, "tablet-failure.png") }).catch(() => {});
      console.error(`  page: ${open.url()} (screenshot tablet-failure.png)`);
    }
  }
} finally {
  await browser.close();
}
