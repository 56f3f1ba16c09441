/*
 * ui-test.js - the web UI in a real browser (Debian's chromium driven by
 * playwright-core), against two real fieldsync instances on 127.0.0.1.
 *
 * Run by ui.sh (which finds chromium and playwright-core).  The story a
 * person would follow: log in to both UIs, enrol the table on both
 * sides, create the passive and the active pairing, map fields on the
 * active side, test the connection (red: the passive maps nothing yet),
 * accept the passive side's suggestions, test again (green check), sync
 * now, edit a record with sqlite3 on the passive side, sync now, see the
 * change on the active side in the records view and in the record's
 * change log, provoke a conflict with sqlite3 on both sides, resolve it
 * from the passive's conflicts page ("keep the other"), see the kept
 * value arrive, add a column to the app table (the tables page says it
 * is not captured yet, and its button numbers it), and close a storm of
 * conflicts with "accept all".  Every page is
 * saved as a screenshot at laptop and phone
 * widths under $ARTIFACTS.
 *
 * Only processes this script starts are ever signalled (by their PID).
 * On failure the work directory (databases, daemon logs) is kept.
 */
"use strict";

const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");

const FIELDSYNC = process.env.FIELDSYNC;
const ARTIFACTS = process.env.ARTIFACTS || path.resolve("tests/artifacts");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ADMIN = "ui-admin-password";
const PAIR_PW = "pairing password 42";
const LAPTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
const WAIT = 30000;

const work = fs.mkdtempSync(path.join(os.tmpdir(), "fs-ui-test."));
const procs = [];
let step = "start";

function log(msg) {
  console.log("--- " + msg);
}

function sqlite(db, sql) {
  return execFileSync("sqlite3", ["-batch", "-bail", db], {
    input: ".timeout 10000\n" + sql, encoding: "utf8" });
}

function fsync(db, ...args) {
  return execFileSync(FIELDSYNC, ["-d", db, ...args], { encoding: "utf8" });
}

/*
 * The same with the process's clock moved by offset ("+2h"): libfaketime
 * preloaded (before the sanitizers' runtime, which must be told).
 */
function fsyncSkewed(offset, db, ...args) {
  const dirs = fs.readdirSync("/usr/lib").map((d) => path.join("/usr/lib", d, "faketime", "libfaketimeMT.so.1"));
  const lib = dirs.find((f) => fs.existsSync(f));
  expect(lib, "libfaketime is not installed (tests/install-deps.sh installs faketime)");
  const env = Object.assign({}, process.env, { LD_PRELOAD: lib, FAKETIME: offset,
    FAKETIME_DONT_FAKE_MONOTONIC: "1",
    ASAN_OPTIONS: [process.env.ASAN_OPTIONS, "verify_asan_link_order=0"].filter(Boolean).join(":") });
  return execFileSync(FIELDSYNC, ["-d", db, ...args], { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
}

/* An instance: database, admin password, and its serve process. */
async function instance(name, rows) {
  const db = path.join(work, name + ".db");
  const pwf = path.join(work, name + ".admin");
  fs.writeFileSync(pwf, ADMIN + "\n");
  sqlite(db, "CREATE TABLE contacts(id INTEGER PRIMARY KEY, name TEXT NOT NULL, " +
    "email TEXT, phone TEXT, city TEXT);\n" + rows);
  fsync(db, "init", "--name", name, "--admin-password-file", pwf);
  const logf = fs.openSync(path.join(work, name + ".log"), "a");
  const p = spawn(FIELDSYNC, ["-d", db, "serve", "--listen", "127.0.0.1:0"],
    { stdio: ["ignore", "pipe", logf] });
  procs.push(p);
  const port = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(name + ": serve printed no address")), WAIT);
    p.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/serving .* on http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m) { clearTimeout(timer); resolve(parseInt(m[1], 10)); }
    });
    p.on("exit", (code) => reject(new Error(name + ": serve exited " + code)));
  });
  return { name, db, port, url: "http://127.0.0.1:" + port + "/", proc: p };
}

function stopAll() {
  for (const p of procs) {
    if (p.exitCode === null && p.signalCode === null) {
      try { process.kill(p.pid, "SIGTERM"); } catch (e) { /* gone */ }
    }
  }
  return Promise.all(procs.map((p) => new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    const t = setTimeout(() => {
      try { process.kill(p.pid, "SIGKILL"); } catch (e) { /* gone */ }
      resolve();
    }, 15000);
    p.on("exit", () => { clearTimeout(t); resolve(); });
  })));
}

function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

/* A full-page screenshot at laptop width, then at phone width. */
async function snap(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(ARTIFACTS, name + "-laptop.png"), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(ARTIFACTS, name + "-phone.png"), fullPage: true });
  await page.setViewportSize(LAPTOP);
}

async function login(page, inst) {
  await page.goto(inst.url);
  await page.waitForSelector("#login-password");
  await page.fill("#login-password", ADMIN);
  await page.click("#login-button");
  await page.waitForSelector("#pairing-list");
  const name = await page.textContent("#instance-name");
  expect(name === inst.name, "header shows instance " + name + ", not " + inst.name);
}

async function enrol(page, table, match, shot) {
  await page.click("#nav-tables");
  await page.waitForSelector("#enrol-form");
  await page.selectOption("#enrol-table", table);
  for (const col of match) await page.check("#match-" + col);
  if (shot) await snap(page, shot);
  await page.click("#enrol-button");
  await page.waitForSelector('#table-list tr[data-table="' + table + '"]');
}

async function addPairing(page, fields) {
  await page.click("#nav-pairings");
  await page.click("#add-pairing");
  await page.fill("#pf-name", fields.name);
  await page.check(fields.role === "active" ? "#pf-role-active" : "#pf-role-passive");
  if (fields.role === "active") {
    await page.fill("#pf-url", fields.url);
    await page.fill("#pf-interval", String(fields.interval));
  }
  await page.fill("#pf-password", PAIR_PW);
  await page.click("#pf-save");
  await page.waitForSelector('article[data-pair="' + fields.name + '"]');
}

function card(name) {
  return 'article[data-pair="' + name + '"]';
}

async function testConnection(page, pair) {
  await page.click("#nav-pairings");
  await page.click(card(pair) + " .test-conn");
  await page.waitForSelector(card(pair) + " .test-ok, " + card(pair) + " .test-failed", { timeout: WAIT });
  return (await page.$(card(pair) + " .test-ok")) !== null;
}

async function syncNow(page, pair) {
  await page.click("#nav-pairings");
  await page.click(card(pair) + " .sync-now");
  await page.waitForSelector(card(pair) + " .sync-done, " + card(pair) + " .sync-failed", { timeout: WAIT });
  const failed = await page.$(card(pair) + " .sync-failed");
  expect(!failed, "sync failed: " + (failed ? await failed.textContent() : ""));
  return page.textContent(card(pair) + " .sync-done");
}

async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  step = "start two instances";
  log(step);
  const head = await instance("head-office",
    "INSERT INTO contacts(name, email, phone, city) VALUES " +
    "('Ann Archer', 'ann@example.com', '555-0101', 'Lisbon'), " +
    "('Bob Baker', 'bob@example.com', '555-0102', 'Porto'), " +
    "('Cy Cole', 'cy@example.com', '555-0103', 'Faro');");
  const branch = await instance("branch",
    "INSERT INTO contacts(name, email, phone, city) VALUES " +
    "('Ann Archer', 'ann@example.com', '555-0101', 'Lisbon'), " +
    "('Dee Dunn', 'dee@example.com', '555-0104', 'Braga');");

  const userData = fs.mkdtempSync(path.join(work, "chromium-"));
  const ctx = await chromium.launchPersistentContext(userData, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: LAPTOP,
    args: ["--headless", "--no-sandbox", "--disable-gpu",
      "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  const problems = [];
  ctx.on("page", (p) => watch(p));
  function watch(p) {
    p.on("console", (m) => { if (m.type() === "error" && !/^Failed to load resource/.test(m.text())) problems.push(m.text()); });
    p.on("pageerror", (e) => problems.push(String(e)));
  }
  try {
    const A = ctx.pages()[0] || await ctx.newPage();
    watch(A);
    A.setDefaultTimeout(WAIT);

    step = "log in to the passive side (head office)";
    log(step);
    await A.goto(head.url);
    await A.waitForSelector("#login-password");
    await snap(A, "01-login");
    await A.fill("#login-password", "not the password");
    await A.click("#login-button");
    await A.waitForSelector(".login-msg .msg.bad");
    await A.fill("#login-password", ADMIN);
    await A.click("#login-button");
    await A.waitForSelector("#pairing-list");

    step = "enrol contacts on the passive side";
    log(step);
    await enrol(A, "contacts", ["email"], "02-tables-enrol");
    await snap(A, "02-tables");

    step = "create the passive pairing";
    log(step);
    await addPairing(A, { name: "branch1", role: "passive" });
    await A.waitForSelector(card("branch1") + " .light.red");

    step = "log in to the active side (branch) in a second tab";
    log(step);
    const B = await ctx.newPage();
    B.setDefaultTimeout(WAIT);
    await login(B, branch);
    /* Both sessions live side by side: cookies are named per instance. */
    await A.reload();
    await A.waitForSelector("#pairing-list");

    step = "enrol contacts on the active side and create the active pairing";
    log(step);
    await enrol(B, "contacts", ["email"]);
    await B.click("#nav-pairings");
    await B.click("#add-pairing");
    await B.fill("#pf-name", "no spaces allowed");
    await B.fill("#pf-url", head.url);
    await B.fill("#pf-password", PAIR_PW);
    await B.click("#pf-save");
    await B.waitForSelector("#pairing-form .msg.bad");
    await snap(B, "03-pairing-form-error");
    await B.click("#pairing-form button[type=button]");
    await addPairing(B, { name: "branch1", role: "active", url: head.url, interval: 3600 });
    /* The daemon tries a new pairing at once; with no map that fails. */
    await B.waitForFunction((sel) => {
      const r = document.querySelector(sel + " .reason");
      return r && r.textContent && !/never synced/.test(r.textContent);
    }, card("branch1"), { timeout: WAIT });

    step = "map fields on the active side";
    log(step);
    await B.click(card("branch1") + " a.button");
    await B.waitForSelector("table.map-table");
    for (const col of ["name", "email", "phone", "city", "fs_status"]) {
      await B.selectOption('select.mode-select[data-column="contacts.' + col + '"]', "two-way");
      await B.waitForSelector('tr.mapped[data-column="contacts.' + col + '"]');
    }
    await B.selectOption('select.mode-select[data-column="contacts.city"]', "upload");
    await B.waitForFunction(() => {
      const s = document.querySelector('select.mode-select[data-column="contacts.city"]');
      return s && s.value === "upload";
    });

    step = "test the connection before the passive has mapped anything";
    log(step);
    expect(!(await testConnection(B, "branch1")), "test was green before the passive mapped anything");
    const problem = await B.textContent(card("branch1") + " .test-failed");
    expect(/map mismatch|nothing/.test(problem), "unexpected test problem: " + problem);
    await B.click(card("branch1") + " a.button");
    await B.waitForSelector("#peer-catalog table");
    await snap(B, "04-map-active");

    step = "accept the suggested matches on the passive side";
    log(step);
    await A.click(card("branch1") + " a.button");
    await A.waitForSelector("#suggestions ul.suggestions li");
    const n = await A.$$eval("#suggestions ul.suggestions li", (l) => l.length);
    expect(n === 5, "expected 5 suggestions, got " + n);
    await snap(A, "05-map-passive-suggestions");
    await A.click("#accept-all");
    await A.waitForSelector("#suggestions .muted");
    for (const col of ["name", "email", "phone", "city", "fs_status"]) {
      await A.waitForSelector('tr.mapped[data-column="contacts.' + col + '"]');
    }
    const cityMode = await A.$eval('select.mode-select[data-column="contacts.city"]', (s) => s.value);
    expect(cityMode === "download", "the city suggestion mirrors upload as download, got " + cityMode);
    expect(!(await A.$("#map-warnings")), "warnings after accepting the suggestions: " +
      (await A.$("#map-warnings") ? await A.textContent("#map-warnings") : ""));
    await snap(A, "06-map-passive");

    step = "test the connection: green";
    log(step);
    expect(await testConnection(B, "branch1"), "connection test not green: " +
      await B.textContent(card("branch1") + " .test-result"));
    await snap(B, "07-pairings-test-green");

    step = "sync now";
    log(step);
    const done = await syncNow(B, "branch1");
    expect(/received [1-9]/.test(done), "the first sync received nothing: " + done);
    await B.waitForSelector(card("branch1") + " .light.green");
    await snap(B, "08-pairings-synced");
    expect(sqlite(branch.db, "SELECT count(*) FROM contacts;").trim() === "4",
      "branch should have 4 contacts (Ann matched by e-mail)");

    step = "edit a record with sqlite3 on the passive side, sync now";
    log(step);
    sqlite(head.db, "UPDATE contacts SET phone = '555-0199' WHERE email = 'bob@example.com';");
    await syncNow(B, "branch1");

    step = "see the change in the records view and the change log";
    log(step);
    await B.click("#nav-records");
    await B.waitForSelector("#records-search");
    await B.fill("#records-search", "555-0199");
    await B.press("#records-search", "Enter");
    await B.waitForSelector("tr.rec >> text=555-0199");
    // The list may be drawn again meanwhile (the search's own answer
    // racing an earlier one): wait for it to settle on one row.
    try {
      await B.waitForFunction(() => document.querySelectorAll("tr.rec").length === 1,
        null, { timeout: 10000 });
    } catch (e) {
      const rows = await B.$$eval("tr.rec", (r) => r.length);
      expect(false, "search found " + rows + " rows");
    }
    await snap(B, "09-records-search");
    await B.fill("#records-search", "");
    await B.press("#records-search", "Enter");
    await B.waitForFunction(() => document.querySelectorAll("tr.rec").length === 4);
    await snap(B, "10-records");
    await B.click("tr.rec >> text=Bob Baker");
    await B.waitForSelector("#record-log tr.log-entry");
    const phone = await B.textContent('#record-fields [data-column="phone"] dd');
    expect(phone === "555-0199", "record view shows phone " + phone);
    const entry = await B.$$eval("#record-log tr.log-entry", (trs) => trs.map((t) => t.textContent));
    expect(entry.some((t) => /phone/.test(t) && /555-0102/.test(t) && /555-0199/.test(t) && /branch1/.test(t)),
      "no change log entry phone 555-0102 -> 555-0199 from branch1: " + JSON.stringify(entry));
    await snap(B, "11-record");

    step = "provoke a conflict and resolve it from the UI";
    log(step);
    sqlite(head.db, "UPDATE contacts SET name = 'Ann Archer (HQ)' WHERE email = 'ann@example.com';");
    await new Promise((r) => setTimeout(r, 20));
    sqlite(branch.db, "UPDATE contacts SET name = 'Ann Archer (branch)' WHERE email = 'ann@example.com';");
    await syncNow(B, "branch1");
    await A.click("#nav-pairings");
    await A.waitForSelector(card("branch1") + " .light.red");
    await A.click("#nav-conflicts");
    await A.waitForSelector("article.conflict");
    const conflictText = await A.textContent("article.conflict");
    expect(/Ann Archer \(HQ\)/.test(conflictText) && /Ann Archer \(branch\)/.test(conflictText),
      "the conflict shows both values: " + conflictText);
    await snap(A, "12-conflicts");
    /* The branch's edit is newer and won; keep the other one. */
    await A.click("article.conflict button.primary");
    await A.waitForSelector("#conflict-list .empty");
    await syncNow(B, "branch1");
    const kept = sqlite(branch.db, "SELECT name FROM contacts WHERE email = 'ann@example.com';").trim();
    expect(kept === "Ann Archer (HQ)", "the kept value did not reach the branch: " + kept);
    await B.click("#nav-records");
    await B.waitForSelector("tr.rec >> text=Ann Archer (HQ)");
    await A.click("#show-all");
    await A.waitForSelector("article.conflict .msg.good");
    await snap(A, "13-conflicts-resolved");
    await A.click("#nav-pairings");
    await A.waitForSelector(card("branch1") + " .light.green");
    const passiveCard = await A.textContent(card("branch1"));
    expect(/Conflict policy\s*the active side's/.test(passiveCard),
      "the passive card names whose policy decides: " + passiveCard);
    await snap(A, "14-pairings-passive");

    step = "a column the app adds later shows as not captured until it is numbered";
    log(step);
    sqlite(head.db, "ALTER TABLE contacts ADD COLUMN region TEXT;");
    await A.click("#nav-tables");
    const row = '#table-list tr[data-table="contacts"]';
    await A.waitForSelector(row + " .uncaptured");
    const note = await A.textContent(row + " .uncaptured .warn-text");
    expect(/region/.test(note), "note on the new column: " + note);
    await snap(A, "15-tables-uncaptured");
    await A.click(row + " .capture-new");
    await A.waitForSelector(row + " .uncaptured", { state: "detached" });
    const listed = JSON.parse(fsync(head.db, "table", "list", "--json"));
    expect(listed[0].fields.some((f) => f.column === "region") && listed[0].uncaptured.length === 0,
      "region numbered after the button: " + JSON.stringify(listed[0].uncaptured));

    step = "values a JavaScript number cannot hold are shown as stored";
    log(step);
    sqlite(head.db, "ALTER TABLE contacts ADD COLUMN score;");
    fsync(head.db, "table", "add", "contacts");
    /* More changes than a record's page shows: it says so. */
    let many = "";
    for (let i = 0; i < 1001; i++) many += "UPDATE contacts SET score = " + i + " WHERE email = 'bob@example.com';\n";
    sqlite(head.db, many);
    sqlite(head.db, "UPDATE contacts SET score = 9223372036854775807 WHERE email = 'bob@example.com'; " +
      "UPDATE contacts SET score = -0.0 WHERE email = 'ann@example.com';");
    for (const [email, want] of [["bob@example.com", "9223372036854775807"], ["ann@example.com", "-0.0"]]) {
      const id = sqlite(head.db, "SELECT id FROM contacts WHERE email = '" + email + "';").trim();
      await A.evaluate((hash) => { location.hash = hash; }, "#/record?table=contacts&rowid=" + id);
      try {
        await A.waitForFunction((w) => {
          const dd = document.querySelector('#record-fields [data-column="score"] dd');
          return dd && dd.textContent === w;
        }, want, { timeout: 10000 });
      } catch (e) {
        const shown = await A.textContent('#record-fields [data-column="score"] dd').catch(() => "(none)");
        expect(false, "score of " + email + " shown as " + shown + ", stored " + want);
      }
      if (email === "bob@example.com") {
        await A.waitForSelector("#record-log tr.log-entry");
        const capped = await A.textContent("#record-log-capped").catch(() => null);
        expect(capped && /newest 1000 changes/.test(capped) && /fieldsync log contacts/.test(capped),
          "the note on a log longer than the page shows: " + capped);
      }
    }

    step = "a table whose capture triggers are gone says so, and one click puts them back";
    log(step);
    const del = sqlite(head.db, "SELECT name FROM sqlite_schema WHERE type = 'trigger' " +
      "AND tbl_name = 'contacts' AND name GLOB '_fs_del_*';").trim();
    sqlite(head.db, "DROP TRIGGER \"" + del + "\";");
    await A.click("#nav-pairings");
    await A.click("#nav-tables");
    await A.waitForSelector(row + " .capture-lost");
    await snap(A, "16-tables-capture-lost");
    await A.click(row + " .capture-new");
    await A.waitForSelector(row + " .uncaptured", { state: "detached" });
    expect(JSON.parse(fsync(head.db, "table", "list", "--json"))[0].capture_lost === false,
      "capture back after the button");

    step = "a storm of conflicts, closed with one click";
    log(step);
    sqlite(head.db, "UPDATE contacts SET phone = 'hq-' || id;");
    await new Promise((r) => setTimeout(r, 20));
    sqlite(branch.db, "UPDATE contacts SET phone = 'br-' || id;");
    await syncNow(B, "branch1");
    await A.click("#nav-conflicts");
    await A.waitForSelector("#accept-all");
    const storm = await A.locator("article.conflict").count();
    expect(storm > 1, "conflicts of the storm: " + storm);
    await snap(A, "16-conflicts-storm");
    A.once("dialog", (d) => d.accept());
    await A.click("#accept-all");
    await A.waitForSelector("#conflict-list .empty");
    expect(await A.locator("#accept-all").count() === 0, "accept-all still shown");
    await A.click("#nav-pairings");
    await A.waitForSelector(card("branch1") + " .light.green");

    step = "keeping a side of a conflict whose field changed since says it wrote nothing";
    log(step);
    sqlite(head.db, "UPDATE contacts SET phone = 'hq-1' WHERE email = 'cy@example.com';");
    await new Promise((r) => setTimeout(r, 20));
    sqlite(branch.db, "UPDATE contacts SET phone = 'br-1' WHERE email = 'cy@example.com';");
    await syncNow(B, "branch1");
    sqlite(head.db, "UPDATE contacts SET phone = 'hq-2' WHERE email = 'cy@example.com';");
    await A.click("#nav-conflicts");
    await A.waitForSelector("article.conflict button.keep-local");
    await A.click("article.conflict button.keep-local");
    await A.waitForSelector("#conflict-notice");
    const said = await A.textContent("#conflict-notice");
    expect(/closed without writing/.test(said), "the notice: " + said);
    const phone2 = sqlite(head.db, "SELECT phone FROM contacts WHERE email = 'cy@example.com';").trim();
    expect(phone2 === "hq-2", "the later edit stands: " + phone2);
    await syncNow(B, "branch1");
    await A.click("#nav-pairings");
    await A.waitForSelector(card("branch1") + " .light.green");

    step = "a peer whose clock is two hours off: both cards say so, until it is right";
    log(step);
    /* A cron "sync" on a branch machine whose clock is two hours ahead. */
    fsyncSkewed("+2h", branch.db, "sync");
    await A.waitForSelector(card("branch1") + " .clock-warning", { timeout: 15000 });
    const aText = await A.textContent(card("branch1"));
    expect(/2 h 0 min ahead/.test(aText) && /clock is 2 h 0 min ahead of this machine/.test(aText),
      "head office card: " + aText);
    await B.click("#nav-pairings");
    await B.waitForSelector(card("branch1") + " .clock-warning", { timeout: 15000 });
    const bText = await B.textContent(card("branch1"));
    expect(/2 h 0 min behind/.test(bText), "branch card: " + bText);
    await snap(A, "17-pairing-clock-warning");
    fsync(branch.db, "sync");
    await A.waitForSelector(card("branch1") + " .clock-warning", { state: "detached", timeout: 15000 });
    await B.waitForSelector(card("branch1") + " .clock-warning", { state: "detached", timeout: 15000 });

    step = "log out";
    log(step);
    await A.click("#logout");
    await A.waitForSelector("#login-password");
    const st = await A.evaluate(() => fetch("/api/pairings").then((r) => r.status));
    expect(st === 401, "API answered " + st + " after logout");
    /* The other instance's session is untouched. */
    await B.click("#nav-pairings");
    await B.waitForSelector(card("branch1"));

    expect(problems.length === 0, "browser errors: " + problems.join(" | "));
  } catch (e) {
    /* What the pages showed when it failed. */
    let i = 0;
    for (const p of ctx.pages()) {
      try {
        await p.screenshot({ path: path.join(ARTIFACTS, "failure-" + (i++) + ".png"), fullPage: true });
      } catch (e2) { /* page gone */ }
    }
    if (problems.length) e.message += " (browser errors: " + problems.join(" | ") + ")";
    throw e;
  } finally {
    await ctx.close();
  }
}

main().then(async () => {
  await stopAll();
  for (const f of fs.readdirSync(work)) {
    if (!f.endsWith(".log")) continue;
    const text = fs.readFileSync(path.join(work, f), "utf8");
    if (/ERROR: (Address|Leak)Sanitizer|runtime error:/.test(text)) {
      console.error("FAIL: sanitizer report in " + f + " (kept " + work + ")");
      process.exit(1);
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
  console.log("ui-test: screenshots in " + ARTIFACTS);
  console.log("1 passed, 0 failed");
  process.exit(0);
}, async (e) => {
  console.error("FAIL during: " + step);
  console.error(e && e.stack ? e.stack : e);
  await stopAll();
  console.error("kept " + work);
  console.log("0 passed, 1 failed");
  process.exit(1);
});
