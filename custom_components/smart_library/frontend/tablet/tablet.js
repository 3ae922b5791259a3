// The door tablet (Smart Library): card, PIN and under-16s at a door, answered by Home Assistant's
// reader endpoint. See docs/readers.md, "The door tablet".
//
// What this page keeps: the reader key (and the door it was paired for), in this device's
// localStorage under one item, and nothing else. Card numbers and PINs live in variables while
// one attempt is made and are cleared with it: never stored, never in the address, the history or
// the console (this script logs nothing). The key is sent only in the X-Reader-Key header of
// requests to the reader endpoint of the origin that served this page, never in a URL, and
// redirects are refused so it cannot follow one elsewhere.

const ENDPOINT = "/api/smart_library/access";
const MESSAGES = "/api/smart_library/tablet/messages/";
const STORE = "smart_library_reader"; // {"key": "<id>.<secret>", "door": "<door id>"}
const KEY_RE = /^[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/;
const ASK_TIMEOUT_MS = 6000; // then "No connection"
const IDLE_MS = 20000; // a card or PIN half-entered is forgotten
const ANSWER_MS = 6000; // a refusal stays this long (a grant: its release time, 4 s at least)
const UNPAIR_HOLD_MS = 3000;
const SCAN_GAP_MS = 50; // keys this close on average are a scanner, not a person
const CARD_MAX = 32;
const PIN_MIN = 4;
const PIN_MAX = 12;
const MINORS_MAX = 10;

const $ = (id) => document.getElementById(id);

let messages = { replies: {}, tablet: {} };
let language = "en";
let reader = null; // {key, door}
let branchName = "";
let timeZone; // the branch's (Home Assistant's), once it has answered

// One attempt at the door. `child` holds an under-16's card and PIN while an adult scans.
const attempt = { card: "", pin: "", minors: 0, child: null };
let step = "card"; // card | pin | checking | answer
let idleTimer = 0;
let answerTimer = 0;
let keys = []; // [{ch, t}] keys typed on a hardware keyboard since the last Enter (PIN step)

// -- storage: the key only ---------------------------------------------------------------------

function loadReader() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE) || "null");
    if (saved && KEY_RE.test(saved.key) && typeof saved.door === "string") return saved;
  } catch {
    // an unreadable item is no key
  }
  return null;
}

function saveReader(value) {
  localStorage.setItem(STORE, JSON.stringify({ key: value.key, door: value.door }));
}

function forgetReader() {
  localStorage.removeItem(STORE);
  reader = null;
}

// -- messages ----------------------------------------------------------------------------------

async function loadMessages(lang) {
  const response = await fetch(`${MESSAGES}${encodeURIComponent(lang)}.json`, {
    credentials: "omit",
    cache: "no-cache",
  });
  if (!response.ok) throw new Error(`messages ${response.status}`);
  return response.json();
}

async function useLanguage(lang) {
  try {
    messages = await loadMessages(lang);
    language = lang;
  } catch {
    if (lang !== "en") return useLanguage("en");
  }
  document.documentElement.lang = language;
  translate();
}

function fill(template, facts) {
  return String(template).replace(/\{(\w+)\}/g, (_, name) => (name in facts ? facts[name] : ""));
}

function ui(key, facts = {}) {
  const text = messages.tablet?.[key];
  return text === undefined ? key : fill(text, facts);
}

function translate() {
  for (const el of document.querySelectorAll("[data-msg]")) {
    if (el.id === "branch" && branchName) continue;
    el.textContent = ui(el.dataset.msg);
  }
  for (const el of document.querySelectorAll("[data-msg-placeholder]")) {
    el.placeholder = ui(el.dataset.msgPlaceholder);
  }
  for (const el of document.querySelectorAll("[data-msg-label]")) {
    el.setAttribute("aria-label", ui(el.dataset.msgLabel));
  }
  document.title = branchName || ui("title");
}

// -- the reader endpoint -----------------------------------------------------------------------

// Every request to Home Assistant: the key in its header, no cookies, no cache, no redirect.
async function ask(method, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ASK_TIMEOUT_MS);
  try {
    const response = await fetch(ENDPOINT, {
      method,
      headers: {
        "X-Reader-Key": reader.key,
        ...(body ? { "Content-Type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      credentials: "omit",
      cache: "no-store",
      redirect: "error",
      referrerPolicy: "no-referrer",
      signal: controller.signal,
    });
    let data = null;
    if ((response.headers.get("content-type") || "").includes("application/json")) {
      data = await response.json().catch(() => null);
    }
    return { status: response.status, data };
  } catch {
    return { status: 0, data: null }; // no network, no answer in time, a refused redirect
  } finally {
    clearTimeout(timer);
  }
}

// The status codes that mean Home Assistant itself did not answer (a proxy's, or it is stopping).
function unreachable(result) {
  return result.status === 0 || ([502, 503, 504].includes(result.status) && !result.data?.code);
}

// -- pairing -----------------------------------------------------------------------------------

function show(id) {
  for (const screen of document.querySelectorAll(".screen")) screen.hidden = screen.id !== id;
}

function showPairing(status = "") {
  show("pair");
  $("pair-key").value = "";
  $("pair-doors").hidden = true;
  $("pair-status").textContent = status;
  $("pair-key").focus();
}

async function pair() {
  const key = $("pair-key").value.trim();
  const status = $("pair-status");
  $("pair-doors").hidden = true;
  if (!KEY_RE.test(key)) {
    status.textContent = ui("pair_bad_key");
    return;
  }
  status.textContent = ui("pair_checking");
  reader = { key, door: "" };
  const result = await ask("GET");
  if (result.status !== 200 || !Array.isArray(result.data?.doors)) {
    reader = null;
    if (result.status === 401) status.textContent = ui("pair_bad_key");
    else if (unreachable(result)) status.textContent = ui("pair_no_connection");
    else status.textContent = ui("pair_failed", { status: result.status });
    return;
  }
  const doors = result.data.doors;
  const done = async (door) => {
    reader = { key, door };
    saveReader(reader);
    $("pair-key").value = "";
    status.textContent = "";
    await hello(result.data);
    startDoor();
  };
  if (doors.length === 1) {
    await done(doors[0]);
    return;
  }
  // A key for several doors: the tablet stands at one of them.
  status.textContent = "";
  const list = $("pair-door-list");
  list.replaceChildren(
    ...doors.map((door) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = door;
      button.addEventListener("click", () => done(door));
      return button;
    }),
  );
  $("pair-doors").hidden = false;
}

// What the key is for: the branch's name and language (asked again at each start).
async function hello(known) {
  let info = known;
  if (!info) {
    const result = await ask("GET");
    if (result.status === 401) {
      forgetReader();
      showPairing(ui("key_not_accepted"));
      return false;
    }
    if (result.status !== 200 || !result.data) return false;
    info = result.data;
  }
  branchName = typeof info.branch === "string" ? info.branch : "";
  if (typeof info.time_zone === "string") timeZone = info.time_zone;
  tick();
  $("branch").textContent = branchName || ui("title");
  if (typeof info.language === "string" && info.language !== language) {
    await useLanguage(info.language);
  }
  translate();
  return true;
}

async function helloUntilAnswered() {
  for (let wait = 5000; reader; wait = Math.min(wait * 2, 60000)) {
    if (await hello()) return;
    if (!reader) return;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

// -- at the door -------------------------------------------------------------------------------

function clearAttempt() {
  attempt.card = "";
  attempt.pin = "";
  attempt.minors = 0;
  attempt.child = null;
  keys = [];
  $("card").value = "";
  $("card").setAttribute("inputmode", "none");
  renderPin();
}

function setStep(next) {
  step = next;
  for (const id of ["step-card", "step-pin", "checking", "answer"]) {
    $(id).hidden = id !== (next === "card" ? "step-card" : next === "pin" ? "step-pin" : next);
  }
  document.body.dataset.step = next;
  clearTimeout(idleTimer);
  if (next === "card" || next === "pin") idleTimer = setTimeout(idle, IDLE_MS);
  if (next === "card") focusCard();
}

function idle() {
  if (step === "pin" || attempt.card || $("card").value) reset();
  else idleTimer = setTimeout(idle, IDLE_MS);
}

function touch() {
  if (step === "card" || step === "pin") {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(idle, IDLE_MS);
  }
}

function reset() {
  clearTimeout(answerTimer);
  clearAttempt();
  $("card-prompt").textContent = ui("card_prompt");
  $("pin-prompt").textContent = ui("pin_prompt");
  $("minors").hidden = false;
  $("answer").className = "answer";
  setStep("card");
}

function focusCard() {
  if (step === "card" && !$("unpair").open && !$("door").hidden) $("card").focus();
}

function cardEntered(raw) {
  // A scanner's text less spaces and control characters, as the ESPHome readers do.
  const card = String(raw).replace(/[\s\x00-\x1f\x7f]/g, "").slice(0, CARD_MAX);
  $("card").value = "";
  if (!card) return;
  attempt.card = card;
  attempt.pin = "";
  keys = [];
  renderPin();
  setStep("pin");
}

function renderPin() {
  const dots = $("pin-dots");
  dots.textContent = "•".repeat(attempt.pin.length) || "\u00a0";
  dots.setAttribute("aria-label", String(attempt.pin.length));
  $("minors-count").textContent = String(attempt.minors);
  $("minors-less").disabled = attempt.minors <= 0;
  $("minors-more").disabled = attempt.minors >= MINORS_MAX;
  $("pin-enter").disabled = attempt.pin.length < PIN_MIN;
}

function pinKey(key) {
  if (step !== "pin") return;
  touch();
  if (key === "clear") attempt.pin = "";
  else if (key === "delete") attempt.pin = attempt.pin.slice(0, -1);
  else if (/^[0-9]$/.test(key) && attempt.pin.length < PIN_MAX) attempt.pin += key;
  renderPin();
}

async function submit() {
  if (step !== "pin" || attempt.pin.length < PIN_MIN) return;
  const body = { door: reader.door };
  if (attempt.child) {
    // An under-16's card: the adult's card and PIN go with it.
    Object.assign(body, {
      card: attempt.child.card,
      pin: attempt.child.pin,
      minors: attempt.child.minors,
      adult_card: attempt.card,
      adult_pin: attempt.pin,
    });
  } else {
    Object.assign(body, { card: attempt.card, pin: attempt.pin, minors: attempt.minors });
  }
  const under16 = attempt.child ? null : { card: attempt.card, pin: attempt.pin, minors: attempt.minors };
  clearAttempt();
  setStep("checking");
  const result = await ask("POST", body);
  body.card = body.pin = body.adult_card = body.adult_pin = "";
  answer(result, under16);
}

// -- the answer --------------------------------------------------------------------------------

function isoDay(iso) {
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  return Date.UTC(y, m - 1, d);
}

function localToday() {
  const now = new Date();
  return Date.UTC(now.getFullYear(), now.getMonth(), now.getDate());
}

// The facts a reply's message needs, formatted in the page's language.
function facts(reply) {
  const out = {};
  if (typeof reply.locked_minutes === "number") out.minutes = reply.locked_minutes;
  if (typeof reply.retry_after === "number") out.minutes = Math.max(1, Math.ceil(reply.retry_after / 60));
  const next = typeof reply.next_opening === "string" ? reply.next_opening : "";
  if (/^\d{2}:\d{2}$/.test(next)) out.time = next;
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(next)) {
    out.time = next.slice(11, 16); // the branch's local time, as Home Assistant wrote it
    const days = Math.round((isoDay(next) - localToday()) / 86400000);
    out.day =
      days === 1
        ? new Intl.RelativeTimeFormat(language, { numeric: "auto" }).format(1, "day")
        : new Intl.DateTimeFormat(language, {
            weekday: "long",
            day: "numeric",
            month: "long",
            timeZone: "UTC",
          }).format(isoDay(next));
  }
  return out;
}

function replyText(reply) {
  const template = messages.replies?.[reply.message_key];
  if (template !== undefined) return fill(template, facts(reply));
  if (typeof reply.text === "string" && reply.text) return reply.text; // English, from Home Assistant
  return messages.replies?.ask_staff ?? "Please ask staff";
}

function showAnswer(kind, text, detail = "", holdMs = ANSWER_MS) {
  const box = $("answer");
  box.className = `answer ${kind}`;
  $("answer-symbol").textContent = kind === "granted" ? "✓" : kind === "offline" ? "!" : "✕";
  $("answer-text").textContent = text;
  $("answer-detail").textContent = detail;
  setStep("answer");
  clearTimeout(answerTimer);
  answerTimer = setTimeout(afterAnswer, holdMs);
}

let repairAfterAnswer = false;

function afterAnswer() {
  $("answer-adult").hidden = true;
  pendingChild = null;
  if (repairAfterAnswer) {
    repairAfterAnswer = false;
    showPairing(ui("key_not_accepted"));
    return;
  }
  reset();
}

let pendingChild = null; // an under-16's card and PIN, only while "Adult's card" is offered

function answer(result, under16) {
  const reply = result.data || {};
  pendingChild = null;
  $("answer-adult").hidden = true;
  if (unreachable(result)) {
    showAnswer("offline", ui("no_connection"));
    return;
  }
  if (result.status === 401) {
    // The key was revoked (or never was): it opens nothing, so it is not kept.
    forgetReader();
    repairAfterAnswer = true;
    showAnswer("refused", ui("key_not_accepted"));
    return;
  }
  if ((result.status === 200 || result.status === 429) && typeof reply.granted === "boolean") {
    const detail = typeof reply.message === "string" ? reply.message : "";
    if (reply.granted) {
      const hold = Math.max(4, Math.min(Number(reply.release_seconds) || 5, 15)) * 1000;
      showAnswer("granted", replyText(reply), detail, hold);
      return;
    }
    if (reply.reason === "under_16" && under16) {
      pendingChild = under16; // offered for this answer only
      $("answer-adult").hidden = false;
      showAnswer("refused", replyText(reply), ui("adult_needed"));
      return;
    }
    showAnswer("refused", replyText(reply), detail);
    return;
  }
  // 400, 403, 503 with a reason, anything else: for staff to look at.
  showAnswer("refused", messages.replies?.ask_staff ?? "Please ask staff");
}

function adultStart() {
  if (!pendingChild) return;
  const child = pendingChild;
  pendingChild = null;
  clearTimeout(answerTimer);
  clearAttempt();
  attempt.child = child;
  $("answer-adult").hidden = true;
  $("card-prompt").textContent = ui("adult_card_prompt");
  $("pin-prompt").textContent = ui("adult_pin_prompt");
  $("minors").hidden = true;
  setStep("card");
}

// -- keyboards: a scanner (keyboard wedge), a USB keypad, the screen ---------------------------

function onKeydown(event) {
  if ($("unpair").open || !$("pair").hidden) return;
  if (step === "card") {
    touch();
    if (event.key === "Enter") {
      event.preventDefault();
      cardEntered($("card").value);
    } else if (document.activeElement !== $("card") && event.key.length === 1) {
      event.preventDefault();
      $("card").value = ($("card").value + event.key).slice(0, CARD_MAX);
      $("card").focus();
    }
    return;
  }
  if (step === "answer" && (event.key === "Enter" || event.key.length === 1)) {
    // The next person scans while the answer is still up: the answer gives way to the card.
    event.preventDefault();
    afterAnswer();
    if (step === "card" && event.key.length === 1) $("card").value = event.key;
    return;
  }
  if (step !== "pin") return;
  const now = performance.now();
  if (event.key === "Enter") {
    event.preventDefault();
    const typed = keys;
    keys = [];
    const fast =
      typed.length >= 4 && (typed[typed.length - 1].t - typed[0].t) / (typed.length - 1) < SCAN_GAP_MS;
    if (fast) {
      // A card scanned while the PIN pad was up: it is a new card (the PIN starts again).
      cardEntered(typed.map((k) => k.ch).join(""));
    } else submit();
    return;
  }
  if (event.key === "Backspace") pinKey("delete");
  else if (event.key === "Escape") reset();
  else if (event.key.length === 1) {
    keys.push({ ch: event.key, t: now });
    if (/^[0-9]$/.test(event.key)) pinKey(event.key);
  } else return;
  event.preventDefault();
}

// -- unpair (staff): hold the branch's name, then type the key's id ---------------------------

let holdTimer = 0;

function unpairAsk() {
  const dialog = $("unpair");
  $("unpair-id").value = "";
  $("unpair-status").textContent = "";
  dialog.showModal();
  $("unpair-id").focus();
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => dialog.open && unpairClose(), IDLE_MS);
}

function unpairClose() {
  $("unpair-id").value = "";
  $("unpair").close();
  reset();
}

function unpairConfirm() {
  const typed = $("unpair-id").value.trim().toLowerCase();
  if (!reader || typed !== reader.key.split(".")[0]) {
    $("unpair-status").textContent = ui("unpair_wrong");
    return;
  }
  $("unpair-id").value = "";
  $("unpair").close();
  forgetReader();
  clearAttempt();
  branchName = "";
  showPairing();
}

// -- start -------------------------------------------------------------------------------------

function tick() {
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  let format;
  try {
    format = new Intl.DateTimeFormat(language, { ...options, timeZone });
  } catch {
    format = new Intl.DateTimeFormat(language, options); // a zone this browser does not know
  }
  $("clock").textContent = format.format(new Date());
}

function startDoor() {
  show("door");
  reset();
}

function wire() {
  $("pair-go").addEventListener("click", pair);
  $("pair-key").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      pair();
    }
  });
  $("card-next").addEventListener("click", () => cardEntered($("card").value));
  $("card-type").addEventListener("click", () => {
    $("card").setAttribute("inputmode", "text"); // the device's own keyboard, for typing
    $("card").blur();
    $("card").focus();
  });
  $("card").addEventListener("input", touch);
  $("card").addEventListener("blur", () => setTimeout(focusCard, 300));
  for (const button of $("keypad").querySelectorAll("button")) {
    button.addEventListener("click", () => pinKey(button.dataset.key));
  }
  // Buttons never take the focus from the card field (a scanner types into it).
  for (const button of document.querySelectorAll("#door button")) {
    button.addEventListener("pointerdown", (event) => event.preventDefault());
  }
  $("minors-less").addEventListener("click", () => {
    attempt.minors = Math.max(0, attempt.minors - 1);
    touch();
    renderPin();
  });
  $("minors-more").addEventListener("click", () => {
    attempt.minors = Math.min(MINORS_MAX, attempt.minors + 1);
    touch();
    renderPin();
  });
  $("pin-enter").addEventListener("click", submit);
  $("pin-cancel").addEventListener("click", reset);
  $("answer-done").addEventListener("click", afterAnswer);
  $("answer-adult").addEventListener("click", adultStart);
  document.addEventListener("keydown", onKeydown);

  const branch = $("branch");
  const release = () => clearTimeout(holdTimer);
  branch.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    clearTimeout(holdTimer);
    holdTimer = setTimeout(unpairAsk, UNPAIR_HOLD_MS);
  });
  for (const type of ["pointerup", "pointerleave", "pointercancel"]) {
    branch.addEventListener(type, release);
  }
  branch.addEventListener("contextmenu", (event) => event.preventDefault());
  $("unpair-go").addEventListener("click", unpairConfirm);
  $("unpair-cancel").addEventListener("click", unpairClose);
  $("unpair").addEventListener("cancel", (event) => {
    event.preventDefault();
    unpairClose();
  });
  $("unpair-id").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      unpairConfirm();
    }
  });
}

async function start() {
  wire();
  await useLanguage("en");
  tick();
  setInterval(tick, 10000);
  reader = loadReader();
  if (!reader) {
    showPairing();
    return;
  }
  startDoor();
  helloUntilAnswered();
}

start();
