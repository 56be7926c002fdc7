// Drives the console in Debian's headless chromium with playwright-core;
// run by ../console.rs, which starts the server and checks what it holds
// afterwards. Exits non-zero at the first assertion that fails.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const { BASE, PASSWORD, CASE_A, CASE_B, AFTER_PHOTO, SHOTS, RESIDENT_TOKEN } = process.env;
const origin = new URL(BASE).origin;
const offOrigin = [];
const consoleErrors = [];

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});

/** A fresh browser profile; its requests must stay on the server's origin. */
async function context(options = {}, { errorsExpected = false } = {}) {
  const ctx = await browser.newContext({ locale: "zh-CN", ...options });
  ctx.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith(origin + "/") && !url.startsWith("data:")) offOrigin.push(url);
  });
  ctx.on("page", (page) => {
    page.on("console", (m) => { if (m.type() === "error" && !errorsExpected) consoleErrors.push(`${page.url()}: ${m.text()}`); });
    page.on("pageerror", (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  });
  return ctx;
}

async function signIn(page, name, password = PASSWORD) {
  await page.goto(`${BASE}/console/sign-in`);
  await page.fill('input[name="name"]', name);
  await page.fill('input[name="password"]', password);
  const [answer] = await Promise.all([page.waitForNavigation(), page.click('#sign-in-form button[type="submit"]')]);
  return answer;
}

async function act(page, action, fill = async () => {}) {
  const form = page.locator(`form.action[data-action="${action}"]`);
  assert.equal(await form.count(), 1, `the ${action} form is offered on ${page.url()}`);
  await fill(form);
  await Promise.all([page.waitForURL(new RegExp(`done=${action}`)), form.locator('button[type="submit"]').click()]);
}

const status = (page) => page.locator("#case-status").innerText();
const shot = (page, name) => page.screenshot({ path: join(SHOTS, name), fullPage: true });

// 1. Refusals: a wrong password, forms without their CSRF token.
{
  const ctx = await context({}, { errorsExpected: true });
  const page = await ctx.newPage();
  const wrong = await signIn(page, "zhao", "not the password at all");
  assert.equal(wrong.status(), 401);
  assert.match(await page.locator(".error").innerText(), /wrong name or password/);
  const forged = await ctx.request.post(`${BASE}/console/sign-in`, { multipart: { name: "zhao", password: PASSWORD } });
  assert.equal(forged.status(), 403, "a sign-in without the form's token is refused");
  assert.equal((await signIn(page, "zhao")).status(), 200);
  const noCsrf = await ctx.request.post(`${BASE}/console/cases/${CASE_A}/act`, { multipart: { action: "accept", action_id: "0190a000-0000-7000-8000-00000000dead" } });
  assert.equal(noCsrf.status(), 403, "an action without the session's CSRF token is refused");
  const badCsrf = await ctx.request.post(`${BASE}/console/cases/${CASE_A}/act`, { multipart: { csrf: "0".repeat(64), action: "accept", action_id: "0190a000-0000-7000-8000-00000000beef" } });
  assert.equal(badCsrf.status(), 403);
  await page.goto(`${BASE}/console/cases/${CASE_A}`);
  assert.equal(await status(page), "待受理", "nothing was applied by the forged forms");
  await ctx.close();
}

// 2. The coordinator takes case A from submitted to dispatched, and merges B into A.
const desk = await context({ viewport: { width: 1366, height: 900 } });
const coordinator = await desk.newPage();
{
  const page = coordinator;
  await signIn(page, "zhao");
  assert.match(page.url(), /\/console\/cases$/);
  assert.equal(await page.locator('[data-status="submitted"] b').innerText(), "2");
  await page.locator(".leaflet-interactive").first().waitFor();
  await shot(page, "cases.png");
  await Promise.all([page.waitForNavigation(), page.click(`tr[data-id="${CASE_A}"] a.case-link`)]);
  await act(page, "accept");
  assert.equal(await status(page), "已立案");
  await act(page, "dispatch", async (form) => {
    assert.equal(await form.locator('select[name="department"]').inputValue(), "chengguan", "the route's department is filled in");
    assert.notEqual(await form.locator('input[name="due"]').inputValue(), "", "the route's deadline is filled in");
  });
  assert.equal(await status(page), "已派遣");
  assert.match(await page.locator("#case-department").innerText(), /城管局/);
  await shot(page, "case-dispatched.png");

  await page.goto(`${BASE}/console/cases/${CASE_B}`);
  const candidate = page.locator(`#duplicates li[data-id="${CASE_A}"]`);
  assert.equal(await candidate.count(), 1, "A is offered as B's duplicate");
  assert.match(await candidate.innerText(), /\d+ m/);
  await Promise.all([page.waitForURL(/done=mark_duplicate/), candidate.locator("button").click()]);
  assert.equal(await status(page), "重复");
}

// 3. The department, on a phone: its queue, acknowledge, rectify with an after-photo.
{
  const phone = await context({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await phone.newPage();
  await signIn(page, "cg");
  assert.match(page.url(), /\/console\/queue$/);
  assert.equal(await page.locator(`#queue tr[data-id="${CASE_A}"]`).count(), 1, "the dispatched case is in the department's queue");
  await shot(page, "queue-phone.png");
  await Promise.all([page.waitForNavigation(), page.click(`#queue tr[data-id="${CASE_A}"] a.case-link`)]);
  assert.equal(await page.getByText("li", { exact: true }).count(), 0, "the department does not learn who reported");
  assert.doesNotMatch(await page.locator("#case").innerText(), /\bli\b/, "no reporter on the case");
  await act(page, "acknowledge");
  assert.equal(await status(page), "处置中");
  await act(page, "rectify", async (form) => {
    await form.locator('input[type="file"]').setInputFiles(AFTER_PHOTO);
    await form.locator('textarea[name="note"]').fill("已清运");
  });
  assert.equal(await status(page), "已整改待核查");
  await page.locator("img.after").first().waitFor();
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(wide <= 1, `the case page fits a phone's width (${wide} px too wide)`);
  await shot(page, "case-rectified-phone.png");
  await phone.close();
}

// 4. The coordinator checks the fix and closes the case; then the statistics.
{
  const page = coordinator;
  await page.goto(`${BASE}/console/cases/${CASE_A}`);
  await act(page, "verify");
  assert.equal(await status(page), "已结案");
  assert.ok((await page.locator("#timeline li").count()) >= 6, "the whole history is on the timeline");
  await page.goto(`${BASE}/console/stats`);
  const total = page.locator("#total-row td");
  assert.equal(await total.nth(0).innerText(), "2", "received");
  assert.equal(await total.nth(2).innerText(), "1", "closed");
  await shot(page, "stats.png");
  for (const [link, magic] of [["#ledger-xlsx", "504b0304"], ["#ledger-csv", "efbbbf"]]) {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click(link)]);
    const saved = join(SHOTS, download.suggestedFilename());
    await download.saveAs(saved);
    const head = readFileSync(saved).subarray(0, magic.length / 2).toString("hex");
    assert.equal(head, magic, `${download.suggestedFilename()} is a real ${link.slice(8)} file`);
    assert.match(download.suggestedFilename(), /^ledger-\d{4}-\d{2}-\d{2}\.(xlsx|csv)$/);
  }
  const today = await page.locator('#campaign input[name="date"]').inputValue();
  await page.goto(`${BASE}/console/bulletin?date=${today}`);
  assert.match(await page.title(), /每日通报/);
  assert.match(await page.locator("body").innerText(), /淮河街道/, "the bulletin lists the street office of the case");
  await shot(page, "bulletin.png");
  await page.goto(`${BASE}/console/stats`);
  await Promise.all([page.waitForNavigation(), page.click("#open-ranking")]);
  assert.equal(await page.locator('#ranking tr[data-flag="red"]').count(), 1, "one red flag");
  assert.equal(await page.locator('#ranking tr[data-flag="black"]').count(), 1, "one black flag");
  await shot(page, "ranking.png");
  await page.goto(`${BASE}/console/cases`);
  await Promise.all([page.waitForNavigation(), page.click("#lang-switch")]);
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.equal(await page.locator("#nav-cases").innerText(), "Cases");
  await page.locator(".leaflet-interactive").first().waitFor();
  await shot(page, "cases-en.png");
  await Promise.all([page.waitForNavigation(), page.click("#lang-switch")]);
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
}

// 5. The admin revokes the resident's lost phone.
{
  const ctx = await context({ viewport: { width: 1366, height: 900 } });
  const page = await ctx.newPage();
  await signIn(page, "boss");
  await page.goto(`${BASE}/console/admin`);
  const revoke = page.locator('tr[data-name="li"] form.revoke[data-device="default"]');
  assert.equal(await revoke.count(), 1);
  await Promise.all([page.waitForURL(/done=revoke/), revoke.locator("button").click()]);
  assert.equal(await page.locator('tr[data-name="li"] form.revoke').count(), 0);
  await shot(page, "admin.png");
  if (RESIDENT_TOKEN) {
    const refused = await ctx.request.get(`${BASE}/v1/changes`, { headers: { authorization: `Bearer ${RESIDENT_TOKEN}` } });
    assert.equal(refused.status(), 401, "the revoked token answers 401 at once");
  }
  await ctx.close();
}

await browser.close();
assert.deepEqual(offOrigin, [], "no request left the server's origin");
assert.deepEqual(consoleErrors, [], "the browser's console stayed free of errors");
console.log(JSON.stringify({ ok: true, screenshots: SHOTS }));
