// The online induction and the branch pages in a real browser: headless Chromium (Debian's
// package) driven by Playwright (playwright-core from npm). Run by scripts/browser_test after
// dashboard.mjs, against the Home Assistant that tests/browser/stack.py started:
//
//   node tests/browser/induction.mjs STACK_JSON SCREENSHOT_DIR
//
// As a member would, with no Home Assistant account, at desktop width (1400x1000) and on a phone
// (390x844): completes the induction with the default content (timed, from opening the page to
// "Induction complete") and the door then grants them; a card renewal, and the door asks for the
// induction again (done on the phone, a quiz answer wrong first: the page says what to read
// again); a significant new version with a video, and the door asks again (the video must play
// to the end before Continue); five wrong PINs, and the card is locked on the page and at the
// door alike. In the library's languages (the service offers English first, then Welsh and
// Danish): a member whose browser speaks Welsh (cy-GB) gets the induction in Welsh, switches to
// Danish with the page's language switch and completes it in Danish, and the door grants them.
// Then a branch's public page, and the staff dashboard's branch view with the floor
// plan and live states (through Home Assistant's login form). The door is asked with the
// request_access action (an administrator's long-lived token from the stack); a branch is put in
// smart hours with its mode override. Screenshots go to SCREENSHOT_DIR. Exits 1 on the first
// failed check, with the reason.

import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT);

const [stackFile, shots] = process.argv.slice(2);
const stack = JSON.parse(readFileSync(stackFile, "utf8"));
const P = stack.pages;
mkdirSync(shots, { recursive: true });

const DESKTOP = { width: 1400, height: 1000 };
const PHONE = { width: 390, height: 844 };
const DOOR_BRANCH = "Wigston Library"; // Oadby's fire alarm is on after dashboard.mjs
const PLAN_BRANCH = "Oadby Library";
const TIMEOUT = 30_000;
const started = Date.now();
const timings = [];
const problems = []; // console errors, CSP violations, uncaught errors

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
  const result = await fn();
  timings.push(`${name} ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return result;
}

// -- Home Assistant, as the library's administrator (REST, long-lived token) --------------------

const AUTH = { Authorization: `Bearer ${P.token}` };

async function action(domain, service, data, response = true) {
  const url = `${stack.url}/api/services/${domain}/${service}${response ? "?return_response" : ""}`;
  const reply = await fetch(url, {
    method: "POST",
    headers: { ...AUTH, "Content-Type": "application/json" },
    body: JSON.stringify(data),
  });
  const body = await reply.json();
  check(reply.ok, `${domain}.${service}: ${reply.status} ${JSON.stringify(body)}`);
  return response ? body.service_response : body;
}

async function door(member) {
  const answer = await action("smart_library", "request_access", {
    branch: P.branches[DOOR_BRANCH].device,
    card: member.card,
    pin: member.pin,
  });
  return answer.reason;
}

async function upload(bytes, name, type) {
  const form = new FormData();
  form.append("file", new Blob([bytes], { type }), name);
  const reply = await fetch(`${stack.url}/api/file_upload`, {
    method: "POST",
    headers: AUTH,
    body: form,
  });
  check(reply.ok, `upload of ${name}: ${reply.status}`);
  return (await reply.json()).file_id;
}

// -- the browser ------------------------------------------------------------------------------

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage });
}

async function heading(page) {
  return (await page.locator("main h1").first().textContent({ timeout: TIMEOUT })).trim();
}

async function fitsWidth(page, viewport, where) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= viewport.width, `${where}: ${wide} px wide in a ${viewport.width} px screen`);
}

async function visible(page, text, where) {
  try {
    await page.getByText(text, { exact: false }).first().waitFor({ state: "visible", timeout: TIMEOUT });
  } catch {
    fail(`${where}: "${text}" not shown`);
  }
}

function watch(page, label) {
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (err) => problems.push(`${label}: ${err}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`${label}: console: ${msg.text()}`);
  });
}

// Go through the induction from its first page to "Induction complete"; return the seconds.
// `answers`: the right option of each quiz question (0-based); `wrongFirst`: answer the second
// question wrong once and follow the page's "Read again" link; `shots`: name prefix for pictures.
async function induction(page, viewport, member, { answers, wrongFirst = false, pictures = "" }) {
  const where = `induction (${viewport.width}px)`;
  const t0 = Date.now();
  await page.goto(`${stack.url}${P.induction}`);
  check((await heading(page)) === "Smart Library induction", `${where}: no sign-in page`);
  if (pictures) await shot(page, `${pictures}-sign-in`);
  await page.locator("#card").fill(member.card);
  await page.locator("#pin").fill(member.pin);
  await page.getByRole("button", { name: "Start the induction" }).click();
  let wrongDone = !wrongFirst;
  for (let n = 0; n < 12; n += 1) {
    const title = await heading(page);
    await fitsWidth(page, viewport, `${where}: ${title}`);
    if (title === "Induction complete") {
      const seconds = (Date.now() - t0) / 1000;
      if (pictures) await shot(page, `${pictures}-complete`);
      return seconds;
    }
    if (title === "The induction video") {
      const next = page.locator("#continue");
      check(await next.isDisabled(), `${where}: Continue before the video was watched`);
      await page.locator("video").evaluate((v) => {
        v.muted = true;
        return v.play();
      });
      await page.waitForFunction(() => !document.getElementById("continue").disabled, null, {
        timeout: TIMEOUT,
      });
      await visible(page, "Watched to the end", where);
      if (pictures) await shot(page, `${pictures}-video`, false);
      await next.click();
    } else if (title === "Floor plans and opening hours") {
      await page.locator("figure.plan svg image").first().waitFor({ timeout: TIMEOUT });
      await visible(page, "Fire exit A", where);
      await visible(page, "The week ahead", where);
      // The page may fetch nothing itself (its policy has no connect-src): ask from outside.
      const href = await page.locator("figure.plan svg image").first().getAttribute("href");
      const image = await fetch(`${stack.url}${href}`);
      check(image.ok && image.headers.get("content-type") === "image/svg+xml", `${where}: no plan`);
      if (pictures) await shot(page, `${pictures}-plans`, false);
      await page.locator("#continue").click();
    } else if (title === "The access rules") {
      await visible(page, "During smart hours you cannot", where);
      await page.locator("#continue").click();
    } else if (title === "A short quiz") {
      for (const [i, right] of answers.entries()) {
        const choice = !wrongDone && i === 1 ? (right === 0 ? 1 : 0) : right;
        await page.locator(`input[name="q${i}"][value="${choice}"]`).check();
      }
      await page.locator("#continue").click();
      if (!wrongDone) {
        wrongDone = true;
        check((await heading(page)) === "A short quiz", `${where}: a wrong answer passed`);
        const again = page.getByRole("button", { name: /Read again:/ });
        await again.waitFor({ timeout: TIMEOUT });
        check((await again.count()) === 1, `${where}: not one "Read again" for one wrong answer`);
        if (pictures) await shot(page, `${pictures}-quiz-wrong`);
        await again.click();
      }
    } else if (title === "The agreement") {
      await page.getByLabel("I agree").check();
      if (pictures) await shot(page, `${pictures}-agreement`, false);
      await page.getByRole("button", { name: "Complete my induction" }).click();
    } else {
      fail(`${where}: unexpected page "${title}"`);
    }
  }
  return fail(`${where}: the induction did not end`);
}

// A 2-second WebM made in the browser itself (a canvas recorded by MediaRecorder): the library's
// induction video in this walk.
async function makeVideo(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const b64 = await page.evaluate(async () => {
    const canvas = document.createElement("canvas");
    canvas.width = 320;
    canvas.height = 180;
    const ctx = canvas.getContext("2d");
    const recorder = new MediaRecorder(canvas.captureStream(25), { mimeType: "video/webm" });
    const chunks = [];
    recorder.ondataavailable = (e) => chunks.push(e.data);
    const stopped = new Promise((resolve) => {
      recorder.onstop = resolve;
    });
    let frame = 0;
    const draw = () => {
      ctx.fillStyle = frame % 50 < 25 ? "#0b5cad" : "#1b7a3d";
      ctx.fillRect(0, 0, 320, 180);
      ctx.fillStyle = "#fff";
      ctx.font = "24px sans-serif";
      ctx.fillText("Smart Library induction", 22, 98);
      frame += 1;
    };
    draw();
    recorder.start(250);
    const timer = setInterval(draw, 40);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    clearInterval(timer);
    recorder.stop();
    await stopped;
    const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
    let text = "";
    for (const b of bytes) text += String.fromCharCode(b);
    return btoa(text);
  });
  await context.close();
  return Buffer.from(b64, "base64");
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
    "--autoplay-policy=no-user-gesture-required",
  ],
});

try {
  const NEW = P.members.new;
  const LOCKED = P.members.lockout;
  const entry = { config_entry_id: P.config_entry_id };
  await step("Wigston in smart hours (mode override)", () =>
    action("select", "select_option", {
      entity_id: P.branches[DOOR_BRANCH].mode_override,
      option: "smart",
    }, false),
  );
  check((await door(NEW)) === "induction_needed", "the new member was let in before any induction");
  await step("the service offers English, Welsh and Danish", () =>
    action("smart_library", "configure_safety", { ...entry, languages: ["en", "cy", "da"] }, false),
  );

  const desktop = await browser.newContext({ viewport: DESKTOP, locale: "en-GB" });
  const page = await desktop.newPage();
  watch(page, "desktop");
  const phone = await browser.newContext({
    viewport: PHONE,
    isMobile: true,
    hasTouch: true,
    locale: "en-GB",
  });
  const phonePage = await phone.newPage();
  watch(phonePage, "phone");

  const defaults = await action("smart_library", "get_induction", entry);
  const defaultAnswers = defaults.current.content.quiz.map((q) => q.answer - 1);
  check(defaults.current.content.video === "", "the default induction has a video");

  const seconds = await step("induction, default content, desktop", () =>
    induction(page, DESKTOP, NEW, { answers: defaultAnswers, pictures: "induction-desktop" }),
  );
  check((await door(NEW)) === "granted", "the door did not grant the member after the induction");

  await step("induction in Welsh, switched to Danish, completed in Danish", async () => {
    const member = { card: "20000000000099", pin: "2468" };
    const expiry = new Date(Date.now() + 700 * 86_400_000).toISOString().slice(0, 10);
    await action("smart_library", "enroll_member", {
      ...entry,
      card: member.card,
      birth_date: "1988-03-03",
      card_expiry: expiry,
      pin: member.pin,
    });
    check((await door(member)) === "induction_needed", "the Welsh member was let in before any induction");
    const context = await browser.newContext({ viewport: DESKTOP, locale: "cy-GB" });
    const welsh = await context.newPage();
    watch(welsh, "cy-GB");
    const where = "induction (cy-GB)";
    const lang = async () => welsh.locator("html").getAttribute("lang");
    await welsh.goto(`${stack.url}${P.induction}`);
    check((await lang()) === "cy", `${where}: the page is not in Welsh (${await lang()})`);
    check(
      (await heading(welsh)) === "Cyflwyniad i lyfrgelloedd hunanwasanaeth",
      `${where}: no Welsh heading`,
    );
    for (const text of ["Rhif cerdyn llyfrgell", "Dechrau'r cyflwyniad", "Llyfrgelloedd Hunanwasanaeth"]) {
      await visible(welsh, text, where);
    }
    await fitsWidth(welsh, DESKTOP, where);
    await shot(welsh, "induction-cy");
    await welsh.getByRole("link", { name: "Dansk" }).click();
    await welsh.waitForURL(/lang=da/);
    check((await lang()) === "da", `${where}: the switch did not give Danish`);
    check((await heading(welsh)) === "Introduktion til Åbent bibliotek", `${where}: no Danish heading`);
    await visible(welsh, "Lånerkortnummer", where);
    await shot(welsh, "induction-da");
    await welsh.locator("#card").fill(member.card);
    await welsh.locator("#pin").fill(member.pin);
    await welsh.getByRole("button", { name: "Start introduktionen" }).click();
    for (let n = 0; n < 8; n += 1) {
      const title = await heading(welsh);
      check((await lang()) === "da", `${where}: "${title}" is not in Danish`);
      if (title === "Introduktionen er gennemført") break;
      if (title === "Plantegninger og åbningstider") {
        await visible(welsh, "Den kommende uge", where);
        await welsh.locator("#continue").click();
      } else if (title === "Adgangsreglerne") {
        await visible(welsh, "Hvem må bruge et åbent bibliotek", where);
        await welsh.locator("#continue").click();
      } else if (title === "En kort quiz") {
        await visible(welsh, "Brandalarmen hyler og blinker. Hvad gør du?", where);
        for (const [i, right] of defaultAnswers.entries()) {
          await welsh.locator(`input[name="q${i}"][value="${right}"]`).check();
        }
        await welsh.locator("#continue").click();
      } else if (title === "Aftalen") {
        await welsh.getByLabel("Jeg accepterer").check();
        await welsh.getByRole("button", { name: "Afslut min introduktion" }).click();
      } else {
        fail(`${where}: unexpected page "${title}"`);
      }
    }
    check((await heading(welsh)) === "Introduktionen er gennemført", `${where}: not completed in Danish`);
    await visible(welsh, "Dit kort åbner nu dørene", where);
    await shot(welsh, "induction-da-complete");
    check((await door(member)) === "granted", "the door did not grant after the Danish induction");
    check((await context.cookies()).length === 0, "a public page set a cookie (cy-GB)");
    await context.close();
  });

  await step("renewal: the door asks again; induction on the phone", async () => {
    const expiry = new Date(Date.now() + 900 * 86_400_000).toISOString().slice(0, 10);
    await action("smart_library", "renew_card", { ...entry, card: NEW.card, card_expiry: expiry });
    check((await door(NEW)) === "induction_outdated", "the door let a renewed card in");
    await induction(phonePage, PHONE, NEW, {
      answers: defaultAnswers,
      wrongFirst: true,
      pictures: "induction-phone",
    });
    check((await door(NEW)) === "granted", "the door did not grant after the new induction");
  });

  await step("significant version with a video: the door asks again", async () => {
    const video = await makeVideo(browser);
    check(video.length > 1000, "the browser made no video");
    const file = await upload(video, "induction.webm", "video/webm");
    await action("smart_library", "upload_induction_video", { ...entry, file });
    const quiz = [
      ...defaults.current.content.quiz,
      {
        question: "Where is Wigston Library's new fire exit?",
        options: ["By the children's library", "There is none"],
        answer: 1,
        section: "branches",
        hint: "Look at Wigston Library's floor plan.",
      },
    ];
    const published = await action("smart_library", "publish_induction", {
      ...entry,
      significant: true,
      summary: "A new fire exit at Wigston Library, and the induction video",
      video: "file",
      video_seconds: 2,
      quiz,
    });
    check(published.required_version === published.version, "the version is not required");
    check((await door(NEW)) === "induction_revised", "the door let an older induction in");
    await induction(phonePage, PHONE, NEW, {
      answers: quiz.map((q) => q.answer - 1),
      pictures: "induction-video",
    });
    check((await door(NEW)) === "granted", "the door did not grant after the new version");
  });

  await step("five wrong PINs: locked on the page and at the door", async () => {
    await page.goto(`${stack.url}${P.induction}`);
    for (let n = 0; n < 5; n += 1) {
      await page.locator("#card").fill(LOCKED.card);
      await page.locator("#pin").fill("0000");
      await page.getByRole("button", { name: "Start the induction" }).click();
      await visible(page, "Card number or PIN not recognised", "wrong PIN");
    }
    await page.locator("#card").fill(LOCKED.card);
    await page.locator("#pin").fill(LOCKED.pin);
    await page.getByRole("button", { name: "Start the induction" }).click();
    await visible(page, "Card locked.", "the right PIN after five wrong ones");
    await shot(page, "induction-locked", false);
    check((await door(LOCKED)) === "locked_out", "the door let a locked-out card in");
  });

  await step("branch page, desktop and phone", async () => {
    const url = `${stack.url}${P.branches[PLAN_BRANCH].page}`;
    for (const [target, viewport, label] of [
      [page, DESKTOP, "desktop"],
      [phonePage, PHONE, "phone"],
    ]) {
      await target.goto(url);
      check((await heading(target)) === PLAN_BRANCH, `branch page ${label}: no heading`);
      for (const text of ["Today", "The week ahead", "Floor plan", "In smart hours you cannot", "999", "101"]) {
        await visible(target, text, `branch page ${label}`);
      }
      await visible(target, /Open now|Closed now/, `branch page ${label}`);
      await fitsWidth(target, viewport, `branch page ${label}`);
      await shot(target, `branch-page-${label}`);
    }
    const feed = await fetch(`${url}/hours.ics`);
    check(feed.ok && (await feed.text()).startsWith("BEGIN:VCALENDAR"), "no opening-hours feed");
  });

  // The public pages set no cookie and leave nothing of Home Assistant in the browser.
  for (const context of [desktop, phone]) {
    check((await context.cookies()).length === 0, "a public page set a cookie");
  }
  const stored = await page.evaluate(() => Object.keys(localStorage).length);
  check(stored === 0, "a public page stored something in the browser");

  await step("the staff dashboard's floor plan (logged in)", async () => {
    const staff = await browser.newContext({ viewport: DESKTOP, locale: "en-GB" });
    const view = await staff.newPage();
    view.setDefaultTimeout(TIMEOUT);
    const base = `${stack.url}/${stack.dashboard}`;
    await view.goto(`${base}/overview`);
    await view.waitForURL(/\/auth\/authorize/, { timeout: TIMEOUT });
    await view.getByLabel("Username").fill(stack.username);
    await view.getByLabel("Password", { exact: true }).fill(stack.password);
    await view.getByRole("button", { name: "Log in" }).click();
    await view.waitForURL(`${base}/overview`, { timeout: TIMEOUT });
    await view.goto(`${base}/${stack.branches[PLAN_BRANCH].path}`);
    const card = view.locator("hui-picture-elements-card").first();
    await card.waitFor({ timeout: TIMEOUT });
    await view.waitForLoadState("networkidle");
    await view.waitForTimeout(1000);
    const icons = await card.locator("hui-state-icon-element, hui-icon-element").count();
    check(icons >= 6, `the dashboard's floor plan shows ${icons} markers`);
    await card.getByText("People inside:").waitFor({ timeout: TIMEOUT });
    const errors = await view.locator("hui-error-card").count();
    check(errors === 0, `the branch view has ${errors} error card(s)`);
    await card.screenshot({ path: join(shots, "floor-plan-dashboard.png") });
    await staff.close();
  });

  check(problems.length === 0, `errors in the public pages: ${problems.join("; ")}`);
  console.log(`Induction walk passed in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
  console.log(
    `  opening the page -> "Induction complete", default content, desktop: ${seconds.toFixed(1)} s`,
  );
  for (const line of timings) console.log(`  ${line}`);
  console.log(`Screenshots: ${shots}`);
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
        .screenshot({ path: join(shots, `induction-failure-${n}.png`), fullPage: true })
        .catch(() => {});
      console.error(`  page ${n}: ${open.url()} (screenshot induction-failure-${n}.png)`);
    }
  }
  if (problems.length) console.error(`  page errors: ${problems.join("; ")}`);
} finally {
  await browser.close();
}
