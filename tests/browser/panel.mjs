// The administrator's panel in a real browser: headless Chromium (Debian's package) driven by
// Playwright (playwright-core from npm). Run by scripts/browser_test after dashboard.mjs, against
// the same Home Assistant (tests/browser/stack.py, whose login is an administrator's):
//
//   node tests/browser/panel.mjs STACK_JSON SCREENSHOT_DIR [IMAGES_DIR]
//
// As an administrator would, at desktop (1400x1000) and phone (390x844) width: log in through the
// login form, open "Library admin" from the sidebar, enroll a member (who reads "No PIN set"), give
// them a PIN ("PIN set", the card masked, never whole), make a reader key (shown once, with a copy
// button; gone once closed), revoke it (listed as revoked). Each step is checked on screen; nothing
// may be wider than the screen; no page error. Last, the panel once in Welsh (a cy-GB browser).
// Screenshots go to SCREENSHOT_DIR; the README's
// (desktop: members, a key made, opening hours, usage) also to IMAGES_DIR (docs/images/) as
// panel-*.png when it is given.
// Environment: CHROMIUM (the browser), PLAYWRIGHT (the playwright-core folder).

import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT);

const [stackFile, shots, images] = process.argv.slice(2);
const stack = JSON.parse(readFileSync(stackFile, "utf8"));
mkdirSync(shots, { recursive: true });
if (images) mkdirSync(images, { recursive: true });

const DESKTOP = { width: 1400, height: 1000 };
const PHONE = { width: 390, height: 844 };
const TIMEOUT = 30_000;
const PANEL_TITLE = "Library admin";
const PANEL_PATH = "smart-library-admin";
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

async function visible(locator, what) {
  try {
    await locator.first().waitFor({ state: "visible", timeout: TIMEOUT });
  } catch {
    fail(`${what}: not shown`);
  }
}

async function fitsWidth(page, viewport, where) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= viewport.width, `${where}: ${wide} px wide in a ${viewport.width} px screen`);
}

async function shot(page, name, { readme = false } = {}) {
  const file = join(shots, `${name}.png`);
  await page.screenshot({ path: file });
  if (readme && images) copyFileSync(file, join(images, `${name}.png`));
}

// The panel element (its shadow root: Playwright's locators pierce open shadow roots).
const panelOf = (page) => page.locator("smart-library-panel");

// Open the panel as a person does: the sidebar item (on a phone, the sidebar is opened first).
async function openFromSidebar(page, viewport, label) {
  await page.goto(`${stack.url}/${stack.dashboard}/overview`);
  await page.locator("hui-view, hui-sections-view").first().waitFor({ timeout: TIMEOUT });
  if (viewport.width < 870) {
    // The dashboard's menu button opens the sidebar as a drawer.
    await page.locator("ha-menu-button").first().click();
  }
  const item = page.locator("ha-sidebar").getByText(PANEL_TITLE, { exact: true });
  await visible(item, `${label}: the sidebar item "${PANEL_TITLE}"`);
  await item.first().click();
  await page.waitForURL(new RegExp(`/${PANEL_PATH}`), { timeout: TIMEOUT });
  const panel = panelOf(page);
  await visible(panel.getByRole("heading", { name: "Library administration" }), `${label}: the panel`);
  await visible(panel.getByRole("heading", { name: "Members" }), `${label}: the members section`);
  return panel;
}

async function dialogOf(panel, title) {
  const dialog = panel.locator("dialog[open]");
  await visible(dialog.getByRole("heading", { name: title }), `the dialog "${title}"`);
  return dialog;
}

async function noError(panel, where) {
  const alerts = panel.locator("[role=alert]:not(:empty)");
  const n = await alerts.count();
  if (n) fail(`${where}: an error is shown: ${await alerts.first().innerText()}`);
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
  const desktop = await browser.newContext({ viewport: DESKTOP, locale: "en-GB" });
  const page = await desktop.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const pageErrors = [];
  page.on("pageerror", (err) => pageErrors.push(String(err)));

  await step("log in through the login form", async () => {
    await page.goto(`${stack.url}/${stack.dashboard}/overview`);
    await page.waitForURL(/\/auth\/authorize/, { timeout: TIMEOUT });
    await page.getByLabel("Username").fill(stack.username);
    await page.getByLabel("Password", { exact: true }).fill(stack.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(`${stack.url}/${stack.dashboard}/overview`, { timeout: TIMEOUT });
  });

  const phone = await browser.newContext({
    viewport: PHONE,
    isMobile: true,
    hasTouch: true,
    locale: "en-GB",
    storageState: await desktop.storageState(),
  });
  const phonePage = await phone.newPage();
  phonePage.setDefaultTimeout(TIMEOUT);
  phonePage.on("pageerror", (err) => pageErrors.push(String(err)));

  // One walk per screen, each with a member and a key of its own; the desktop one in the service
  // the stack gave its demo members (chosen with the picker), the phone one in the first service.
  const walks = [
    [page, DESKTOP, "desktop", "21239000004711", "Ada Lovelace", "Porch reader", "Shire Libraries"],
    [phonePage, PHONE, "phone", "21239000004722", "Grace Hopper", "Side door reader", null],
  ];
  // The day before today: an induction date no time zone can put in the future.
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  for (const [target, viewport, label, card, name, keyName, service] of walks) {
    const masked = `••••${card.slice(-4)}`;
    const readme = label === "desktop";
    let panel;
    await step(`open the panel from the sidebar (${label})`, async () => {
      panel = await openFromSidebar(target, viewport, label);
      if (service) {
        await panel.getByLabel("Library service").selectOption({ label: service });
        await visible(panel.getByRole("heading", { name: "Ann Reader" }), `${label}: ${service}'s members`);
      }
      await noError(panel, `panel ${label}`);
      await fitsWidth(target, viewport, `panel ${label}`);
    });

    await step(`enroll a member (${label})`, async () => {
      await panel.getByRole("button", { name: "Enroll a member" }).click();
      const dialog = await dialogOf(panel, "Enroll a member");
      await dialog.getByLabel("Card number").fill(card);
      await dialog.getByLabel("Name", { exact: true }).fill(name);
      await dialog.getByLabel("Birth date").fill("1985-12-10");
      await dialog.getByLabel("Induction done on (empty: not yet)").fill(yesterday);
      await shot(target, `panel-enroll-${label}`);
      await dialog.getByRole("button", { name: "Enroll" }).click();
      await visible(panel.getByText(`Enrolled ${masked}: set a PIN before they can enter.`), `${label}: the enroll message`);
      const row = panel.locator(`article.member[data-card="${masked}"]`);
      await visible(row.getByRole("heading", { name }), `${label}: the new member listed`);
      await visible(row.getByText("No PIN set", { exact: true }), `${label}: "No PIN set" for the new member`);
    });

    await step(`give the member a PIN (${label})`, async () => {
      const row = panel.locator(`article.member[data-card="${masked}"]`);
      await row.getByRole("button", { name: "Set PIN" }).click();
      const dialog = await dialogOf(panel, `Set the PIN of ${name} (${masked})`);
      await dialog.getByLabel("New PIN").fill("482916");
      await dialog.getByLabel("The same PIN again").fill("482916");
      await dialog.getByRole("button", { name: "Save PIN" }).click();
      await visible(panel.getByText(`PIN set for ${masked}.`), `${label}: the PIN message`);
      const updated = panel.locator(`article.member[data-card="${masked}"]`);
      await visible(updated.getByText("PIN set", { exact: true }), `${label}: "PIN set"`);
      await visible(updated.getByText("May enter", { exact: true }), `${label}: "May enter"`);
      check((await updated.getByText("No PIN set").count()) === 0, `${label}: still "No PIN set"`);
      await visible(updated.getByText(masked, { exact: true }), `${label}: the masked card`);
      const text = await panel.locator("main").innerText();
      check(!text.includes(card), `${label}: the whole card number is on screen`);
      check(!text.includes("482916"), `${label}: the PIN is on screen`);
      await noError(panel, `members ${label}`);
      await fitsWidth(target, viewport, `members ${label}`);
      await shot(target, `panel-member-${label}`);
      // Every member of the service: the new one among them, still masked, still "PIN set".
      await panel.getByRole("searchbox").fill("");
      await panel.getByRole("button", { name: "Find", exact: true }).click();
      const listed = panel.locator(`article.member[data-card="${masked}"]`);
      await visible(listed.getByText("PIN set", { exact: true }), `${label}: the new member in the full list`);
      check(!(await panel.locator("main").innerText()).includes(card), `${label}: a whole card number in the list`);
      await fitsWidth(target, viewport, `members list ${label}`);
      await shot(target, `panel-members-${label}`, { readme });
    });

    await step(`make a reader key, shown once (${label})`, async () => {
      await panel.getByRole("button", { name: "Reader keys" }).click();
      await visible(panel.getByRole("heading", { name: "Reader keys" }), `${label}: the reader keys section`);
      await panel.getByRole("button", { name: "Make a key" }).click();
      const dialog = await dialogOf(panel, "Make a reader key");
      await dialog.getByLabel("Name (where the reader is)").fill(keyName);
      await dialog.getByRole("button", { name: "Make key" }).click();
      const box = panel.locator(".newkey");
      await visible(box.getByRole("heading", { name: `Reader key "${keyName}" — shown once` }), `${label}: the new key`);
      const key = (await box.locator("code.key").innerText()).trim();
      check(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{20,}$/.test(key), `${label}: the key shown is no key: ${key}`);
      await visible(box.getByRole("button", { name: "Copy" }), `${label}: the copy button`);
      const item = panel.locator("article.key-item", { hasText: keyName });
      await visible(item.getByText("Active", { exact: true }), `${label}: the key listed as active`);
      await fitsWidth(target, viewport, `reader keys ${label}`);
      await shot(target, `panel-key-made-${label}`, { readme });
      // Closed, it is never shown again: not in the box, not in the list.
      await box.getByRole("button", { name: "Done: I have copied it" }).click();
      await visible(panel.getByRole("button", { name: "Make a key" }), `${label}: the reader keys section again`);
      check((await panel.locator(".newkey").count()) === 0, `${label}: the key still shown after Done`);
      check(!(await panel.locator("main").innerText()).includes(key.split(".")[1]), `${label}: the key's secret still on screen`);
      await noError(panel, `reader keys ${label}`);
    });

    await step(`revoke the key (${label})`, async () => {
      const item = panel.locator("article.key-item", { hasText: keyName });
      await item.getByRole("button", { name: "Revoke" }).click();
      const dialog = await dialogOf(panel, `Revoke the key "${keyName}"?`);
      await dialog.getByRole("button", { name: "Revoke" }).click();
      await visible(panel.getByText(`Key "${keyName}" revoked: its reader is refused from now on.`), `${label}: the revoke message`);
      const revoked = panel.locator("article.key-item", { hasText: keyName });
      await visible(revoked.getByText(/^Revoked /), `${label}: the key listed as revoked`);
      check((await revoked.getByRole("button", { name: "Revoke" }).count()) === 0, `${label}: a revoked key offers Revoke`);
      await noError(panel, `revoked ${label}`);
      await fitsWidth(target, viewport, `revoked ${label}`);
      await shot(target, `panel-key-revoked-${label}`);
    });

    {
      // Staffed cover nearby (seed 000), at both widths: Wigston names Matlock (Dale Libraries) as its neighbour;
      // with both on the example plan (smart most of the day) Wigston's smart periods are
      // uncovered. Matlock's hours made staffed, the hours editor says they are covered; then
      // Matlock's plan and Wigston's neighbours go back as they were (the later walks use them).
      const hours = async (serviceName, branchName) => {
        await panel.getByRole("button", { name: "Opening hours", exact: true }).click();
        await panel.getByLabel("Library service").selectOption({ label: serviceName });
        await visible(panel.getByRole("heading", { name: "Opening hours" }), `${label}: opening hours of ${serviceName}`);
        await panel.getByLabel("Branch", { exact: true }).selectOption({ label: branchName });
        await visible(panel.getByRole("heading", { name: "Staffed cover nearby" }), `${label}: the cover block of ${branchName}`);
      };
      const save = async (branchName) => {
        await panel.getByRole("button", { name: "Save weekly plan" }).click();
        await visible(panel.getByText(`Weekly plan of ${branchName} saved.`), `${label}: ${branchName}'s plan saved`);
        await visible(panel.getByRole("heading", { name: "Staffed cover nearby" }), `${label}: the hours editor again`);
      };
      const matlock = panel.getByLabel("Matlock Library (Dale Libraries)");
      const modes = panel.locator('.week select[aria-label$=" mode"]');
      let before = [];

      await step(`name a neighbour: smart periods with none staffed (${label})`, async () => {
        await hours("Shire Libraries", "Wigston Library");
        await visible(panel.getByText(/^No neighbours named/), `${label}: "No neighbours named"`);
        await matlock.check();
        await save("Wigston Library");
        const block = panel.locator('.cover[data-cover="uncovered"]');
        await visible(block.getByText(/smart periods? with no neighbour staffed/), `${label}: the uncovered periods`);
        await visible(block.getByText("Neighbours: Matlock Library. The next 4 weeks:"), `${label}: the neighbour named`);
        const first = (await block.locator("li").first().innerText()).trim();
        check(/^[A-Z][a-z]+day,? \d{1,2} [A-Z][a-z]+\s*\d{2}:\d{2}–\d{2}:\d{2}$/.test(first), `${label}: an uncovered period reads "${first}"`);
        check(await matlock.isChecked(), `${label}: Matlock not ticked after saving`);
        await noError(panel, `cover ${label}`);
        await fitsWidth(target, viewport, `cover ${label}`);
        await block.locator("h3").evaluate((el) => el.scrollIntoView({ block: "center" }));
        await shot(target, readme ? "panel-cover-uncovered" : "panel-cover-uncovered-phone", { readme });
      });

      await step(`the overview lists them (${label})`, async () => {
        const overview = await target.context().newPage();
        try {
          await overview.goto(`${stack.url}/${stack.dashboard}/overview`);
          const card = overview.locator("smart-library-cover-card");
          await visible(card.getByText(/with no staffed library nearby$/), `${label}: the overview's cover card`);
          await visible(card.getByText("Wigston Library", { exact: true }), `${label}: Wigston in the overview's card`);
        } finally {
          await overview.close();
        }
      });

      await step(`the neighbour staffed: covered (${label})`, async () => {
        await hours("Dale Libraries", "Matlock Library");
        const n = await modes.count();
        check(n > 0, `${label}: Matlock has no period to change`);
        before = [];
        for (let i = 0; i < n; i++) {
          before.push(await modes.nth(i).inputValue());
          await modes.nth(i).selectOption("staffed");
        }
        await save("Matlock Library");
        await hours("Shire Libraries", "Wigston Library");
        const block = panel.locator('.cover[data-cover="covered"]');
        await visible(block.getByText("Every smart period has a staffed library nearby."), `${label}: covered`);
        check((await panel.locator(".cover li").count()) === 0, `${label}: periods still listed`);
        await noError(panel, `covered ${label}`);
        await block.scrollIntoViewIfNeeded();
        await shot(target, readme ? "panel-cover-covered" : "panel-cover-covered-phone");
      });

      await step(`back as it was (${label})`, async () => {
        await hours("Dale Libraries", "Matlock Library");
        for (let i = 0; i < before.length; i++) await modes.nth(i).selectOption(before[i]);
        await save("Matlock Library");
        await hours("Shire Libraries", "Wigston Library");
        await matlock.uncheck();
        await save("Wigston Library");
        await visible(panel.getByText(/^No neighbours named/), `${label}: Wigston names nobody again`);
      });
    }

    if (readme) {
      // The other sections, for the README (each must load without an error).
      // (The stack has no companion-app phone: the on-call section rightly warns that nobody is
      // on call, so that one alert is expected.)
      for (const [section, heading, file, expected] of [
        ["Opening hours", "Opening hours", "panel-hours", null],
        ["Usage", "Usage", "panel-usage", null],
        ["On-call phones", "On-call and escalation phones", "panel-oncall-desktop", "Nobody is on call"],
      ]) {
        await step(`${section} (${label})`, async () => {
          await panel.getByRole("button", { name: section, exact: true }).click();
          await visible(panel.getByRole("heading", { name: heading }), `${label}: ${section}`);
          await target.waitForTimeout(300);
          if (expected) await visible(panel.getByText(expected), `${label}: ${section} says "${expected}"`);
          else await noError(panel, `${section} ${label}`);
          await shot(target, file, { readme: !expected });
        });
      }
    }
  }
  // The panel in Welsh: a browser in Welsh (cy-GB; the profile names no language) gets the
  // panel's words in Welsh. (The sidebar item keeps the one title Home Assistant registers.)
  await step("the panel in Welsh (cy-GB)", async () => {
    const welsh = await browser.newContext({ viewport: DESKTOP, locale: "cy-GB", storageState: await desktop.storageState() });
    const cyPage = await welsh.newPage();
    cyPage.setDefaultTimeout(TIMEOUT);
    cyPage.on("pageerror", (err) => pageErrors.push(String(err)));
    await cyPage.goto(`${stack.url}/${PANEL_PATH}`);
    const panel = panelOf(cyPage);
    await visible(panel.getByRole("heading", { name: "Gweinyddu'r llyfrgell" }), "Welsh: the panel");
    await visible(panel.getByRole("heading", { name: "Aelodau", exact: true }), "Welsh: the members section");
    await noError(panel, "panel in Welsh");
    await shot(cyPage, "panel-members-cy");
    await welsh.close();
  });
  check(pageErrors.length === 0, `uncaught errors in the page: ${pageErrors.join("; ")}`);
  console.log(`Panel browser test passed in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
  for (const line of timings) console.log(`  ${line}`);
  console.log(`Screenshots: ${shots}${images ? ` (desktop ones also in ${images})` : ""}`);
} catch (err) {
  if (!process.exitCode) {
    console.error(`FAILED: ${err.stack || err}`);
    process.exitCode = 1;
  }
  let n = 0;
  for (const context of browser.contexts()) {
    for (const open of context.pages()) {
      n += 1;
      await open
        .screenshot({ path: join(shots, `panel-failure-${n}.png`), fullPage: true })
        .catch(() => {});
      console.error(`  page ${n}: ${open.url()} (screenshot panel-failure-${n}.png)`);
    }
  }
} finally {
  await browser.close();
}
