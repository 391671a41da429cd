// The analyst's workbench end to end: a real `spirit serve` on loopback over a workspace
// made with the CLI, driven in Debian's headless Chromium. Screenshots go to web/e2e-out/.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { readFileSync } from "node:fs";
import { choosePasswords, launchBrowser, makeDemoWorkspace, newPage, outDir, signIn, startServer, typo } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const OUT = outDir(join(here, "..", "e2e-out"));
const DEMO = join(here, "..", "..", "demo", "people.csv");

let fx, server, browser;

before(async () => {
  const t0 = Date.now();
  fx = makeDemoWorkspace(DEMO);
  server = await startServer(fx.ws);
  // Alice replaces her printed password in the browser (the first test); the others
  // over the API.
  const { alice, ...others } = fx.users;
  fx.users = { ...(await choosePasswords(server.base, others)), alice };
  browser = await launchBrowser();
  console.log(`# setup (workspace via the CLI, server, browser): ${Date.now() - t0} ms`);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  fx?.cleanup();
});

const shot = (page, name) => page.screenshot({ path: join(OUT, `${name}.png`) });

describe("the analyst's workbench", () => {
  test("the server embeds the UI: app routes get index.html with a CSP, the API stays JSON", async () => {
    const r = await fetch(`${server.base}/entity/E1`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /text\/html/);
    assert.match(r.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    assert.match(await r.text(), /<div id="app">/, "the built index.html, not the not-built page");
    const api = await fetch(`${server.base}/api/nothing-here`);
    assert.equal(api.status, 404);
    assert.equal((await api.json()).error, "not_found");
  });

  test("sign in (a wrong password is said in words), search with a typo, read the identity page and its waterfall", async () => {
    const { page, problems } = await newPage(browser);
    await page.goto(`${server.base}/`);
    await page.getByLabel("User name").fill("alice");
    await page.getByLabel("Password").fill("not-her-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "The user name or password is wrong." }).waitFor();
    await shot(page, "signin");

    await signIn(page, server.base, "alice", fx.users.alice);
    // The printed password must be replaced first.
    const mine = `${fx.users.alice} mine`;
    await page.getByLabel("New password", { exact: true }).fill("too short");
    await page.getByLabel("New password again").fill("too short");
    await page.getByRole("button", { name: "Set password" }).click();
    await page.getByRole("alert").filter({ hasText: "at least 12 characters" }).waitFor();
    await page.getByLabel("New password", { exact: true }).fill(mine);
    await page.getByLabel("New password again").fill(mine);
    await page.getByRole("button", { name: "Set password" }).click();
    fx.users.alice = mine;
    await page.getByLabel("Purpose of this session").waitFor();
    await shot(page, "setup");
    await page.getByLabel("Purpose of this session").fill("e2e: identify the buyer");
    await page.getByRole("button", { name: "Start" }).click();

    const person = fx.people[0];
    const query = `${person.first} ${typo(person.last)}`;
    const input = page.getByLabel("Search names and identifiers");
    await input.fill(query);
    const t0 = Date.now();
    await input.press("Enter");
    const results = page.getByTestId("results");
    await results.waitFor();
    const searchMs = Date.now() - t0;
    const row = results.locator("tbody tr").filter({ hasText: person.first }).first();
    await row.waitFor();
    await assert.doesNotReject(row.getByText(/police ×\d+/).waitFor({ timeout: 2000 }), "source counts are shown");
    await shot(page, "search");

    const t1 = Date.now();
    await row.getByRole("link").first().click();
    const grid = page.getByTestId("attribute-grid");
    await grid.waitFor();
    const entityMs = Date.now() - t1;
    const entity = new URL(page.url()).pathname.split("/")[2];
    assert.match(entity, /^E\d+$/);
    const columns = await grid.locator("thead th").count();
    assert.ok(columns >= 3, `the grid shows the records side by side (${columns - 1} records)`);
    const waterfall = page.getByTestId("waterfall").first();
    await waterfall.waitFor();
    const text = await waterfall.textContent();
    assert.match(text, /prior \(before comparing\)/);
    assert.match(text, /match weight/);
    assert.match(text, /\d+\.\d\d%|>99\.99%/, "the resulting probability");
    const partials = await waterfall.locator("tbody tr").count();
    assert.ok(partials >= 4, `prior, comparisons and the total (${partials} rows)`);
    await page.getByText("Show raw payload").first().click();
    await assert.doesNotReject(page.locator("pre.payload").first().waitFor({ state: "visible", timeout: 2000 }));
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, "entity");
    console.log(`# render times at the demo scale: search ${searchMs} ms, identity page ${entityMs} ms`);
    assert.deepEqual(problems, [], "no console errors or CSP violations");
    await page.context().close();
  });

  test("the network expands, finds a path and exports", async () => {
    const { page, problems } = await newPage(browser);
    await signIn(page, server.base, "alice", fx.users.alice, { kase: "alpha", purpose: "e2e network" });
    const person = fx.people[1];
    const far = await entityOf({ source: "tips", id: "x2" });
    await page.getByLabel("Search names and identifiers").fill(`${person.first} ${person.last}`);
    await page.getByLabel("Search names and identifiers").press("Enter");
    await page.getByTestId("results").locator("tbody tr a").first().click();
    await page.getByTestId("attribute-grid").waitFor();
    await page.getByRole("link", { name: "Network view" }).click();
    await page.locator("#graph canvas").first().waitFor();
    const status = page.locator(".net-status");
    await status.getByText(/1 of 1 neighbours shown/).waitFor();
    // The neighbour sharing the phone, expanded from the keyboard-reachable list.
    const list = page.locator(".node-list");
    await list.getByText("Zebedee Quaternion").waitFor();
    const expand = list.locator("li", { hasText: "Zebedee" }).getByRole("button");
    await expand.focus();
    await page.keyboard.press("Enter");
    await list.getByText("Ottoline Varga").waitFor();
    // The shortest path from the person to x2: phone, then e-mail.
    await page.getByLabel(/^From E\d+ to$/).fill(far);
    await page.getByRole("button", { name: "Find path" }).click();
    const path = page.getByTestId("path");
    await path.waitFor();
    assert.match(await path.textContent(), new RegExp(`Path of 2 link\\(s\\): E\\d+ → E\\d+ → ${far}`));
    // Filter by source: x1 and x2 are only in tips.
    await page.getByLabel("Source").selectOption("police");
    await page.getByRole("button", { name: "Apply filter" }).click();
    await status.getByText(/1 of 3 entities match the filter/).waitFor();
    await page.getByLabel("Source").selectOption("");
    await page.getByRole("button", { name: "Apply filter" }).click();
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "GraphML" }).click();
    const graphml = readFileSync(await (await download).path(), "utf8");
    assert.match(graphml, /<graphml/);
    assert.match(graphml, new RegExp(`<node id="${far}"`));
    assert.match(graphml, /<node id="i:phone:/);
    const png = page.waitForEvent("download");
    await page.getByRole("button", { name: "PNG image" }).click();
    const pngBytes = readFileSync(await (await png).path());
    assert.equal(pngBytes.subarray(1, 4).toString(), "PNG");
    const json = page.waitForEvent("download");
    await page.getByRole("button", { name: "JSON" }).click();
    const elements = JSON.parse(readFileSync(await (await json).path(), "utf8")).elements;
    assert.ok(elements.nodes.length >= 5, `entities and identifiers (${elements.nodes.length} nodes)`);
    await shot(page, "network");
    assert.deepEqual(problems, [], "no console errors or CSP violations");
    await page.context().close();
  });

  test("reject a link: the entity splits at once, the decision is in the history and can be undone", async () => {
    const { page, problems } = await newPage(browser);
    await signIn(page, server.base, "alice", fx.users.alice, { kase: "alpha", purpose: "e2e decide" });
    const person = fx.people[0];
    await page.getByLabel("Search names and identifiers").fill(`${person.first} ${person.last}`);
    await page.getByLabel("Search names and identifiers").press("Enter");
    await page.getByTestId("results").locator("tbody tr a").first().click();
    const grid = page.getByTestId("attribute-grid");
    await grid.waitFor();
    const recordsBefore = (await grid.locator("thead th").count()) - 1;
    const card = page.getByTestId("waterfall").first();
    await card.getByLabel("Reason").fill("different fathers named in the warrant");
    await card.getByRole("button", { name: "Reject link (split)" }).click();
    const decision = page.getByTestId("decision");
    await decision.waitFor();
    assert.match(await decision.textContent(), /Recorded: not-same/);
    assert.match(await decision.textContent(), /split/);
    await grid.waitFor();
    const recordsAfter = (await page.getByTestId("attribute-grid").locator("thead th").count()) - 1;
    assert.ok(recordsAfter < recordsBefore, `the entity lost records: ${recordsBefore} → ${recordsAfter}`);
    const historyText = await page.getByTestId("history").textContent();
    assert.match(historyText, /alice/);
    assert.match(historyText, /not-same/);
    assert.match(historyText, /different fathers/);
    // The history is the entity's whole story from the server, not only decisions:
    // the split the rejection caused and the run that created the entity are in it.
    const history = page.getByTestId("history");
    assert.ok((await history.locator('tr[data-kind="split"]').count()) >= 1, historyText);
    assert.ok((await history.locator('tr[data-kind="create"]').count()) >= 1, historyText);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, "decide");
    await decision.getByRole("button", { name: "Undo" }).click();
    await page.getByTestId("decision").filter({ hasText: "Undone" }).waitFor();
    const recordsUndone = (await page.getByTestId("attribute-grid").locator("thead th").count()) - 1;
    assert.equal(recordsUndone, recordsBefore, "undo joins the records again");
    // The undo is a later decision: the rejection shows as replaced.
    const rejected = page.getByTestId("history").locator('tr[data-kind="judgement"]', { hasText: "decision: not-same" });
    assert.match(await rejected.first().textContent(), /replaced/);
    assert.deepEqual(problems, [], "no console errors or CSP violations");
    await page.context().close();
  });

  test("records are added with progress, and a bad file is refused in words", async () => {
    const { page, problems } = await newPage(browser);
    await signIn(page, server.base, "alice", fx.users.alice, { kase: "alpha", purpose: "e2e upload" });
    await page.getByRole("link", { name: "Add records" }).click();
    await page.getByLabel("Source").selectOption("tips");
    const csv = "rec_id,first_name,surname,dob,email\nu1,Quentin,Marchetti,1970-03-04,qm@example.org\n";
    await page.getByLabel("File").setInputFiles({ name: "new.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.getByRole("button", { name: "Upload" }).click();
    const status = page.getByTestId("upload-status");
    await status.getByText(/1 read, 1 stored, 0 already there in tips/).waitFor();
    assert.equal(await page.locator("#u-progress").getAttribute("value"), "100");
    await page.getByLabel("File").setInputFiles({ name: "bad.jsonl", mimeType: "application/x-ndjson", buffer: Buffer.from("{not json\n") });
    await page.getByRole("button", { name: "Upload" }).click();
    await status.getByText(/The request could not be understood: line 1: not valid JSON/).waitFor();
    await page.getByRole("link", { name: "Search" }).click();
    await page.getByLabel("Search names and identifiers").fill("Quentin Marcheti");
    await page.getByLabel("Search names and identifiers").press("Enter");
    await page.getByTestId("results").getByText("Quentin Marchetti").waitFor();
    assert.deepEqual(problems, [], "no console errors or CSP violations");
    await page.context().close();
  });

  test("the auditor sees the split in the audit log, and the chain verifies", async () => {
    const { page, problems } = await newPage(browser);
    await signIn(page, server.base, "audrey", fx.users.audrey);
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    // The verdict, whatever it is (intact, altered, or an error), then that it is intact.
    const verdict = page.getByTestId("verify");
    await verdict.getByRole("alert").or(verdict.getByRole("status")).first().waitFor({ timeout: 90_000 });
    assert.match(await verdict.textContent(), /The audit log is intact/);
    await page.getByLabel("User").fill("alice");
    await page.getByLabel("Action").fill("split");
    await page.getByRole("button", { name: "Filter" }).click();
    const table = page.getByTestId("audit");
    await table.locator("tbody tr").filter({ hasText: "split" }).first().waitFor();
    const text = await table.textContent();
    assert.match(text, /alice/);
    assert.match(text, /different fathers/, "the reason is logged");
    // Reads carry the session's purpose.
    await page.getByLabel("Action").fill("entity.read");
    await page.getByRole("button", { name: "Filter" }).click();
    await table.getByText("e2e decide [case alpha]").first().waitFor();
    await page.getByLabel("Action").fill("");
    await page.getByRole("button", { name: "Filter" }).click();
    await table.getByText("split").first().waitFor();
    await shot(page, "audit");
    // An auditor reads no personal data.
    const r = await page.evaluate(async () => (await fetch("/api/search?q=smith&purpose=x")).status);
    assert.equal(r, 403);
    assert.deepEqual(problems, [], "no console errors or CSP violations");
    await page.context().close();
  });

  test("a user without the case sees nothing of it", async () => {
    const person = fx.people[0];
    // bob is in case beta only.
    const { page } = await newPage(browser);
    await signIn(page, server.base, "bob", fx.users.bob, { kase: "beta", purpose: "e2e compartments" });
    await page.getByLabel("Search names and identifiers").fill(`${person.first} ${person.last}`);
    await page.getByLabel("Search names and identifiers").press("Enter");
    // Fuzzy search may find beta's own people; never a record of alpha.
    await page.getByTestId("results").or(page.getByText(/Nothing matches/)).waitFor();
    const shown = await page.locator("main").textContent();
    assert.ok(!/police|tips/.test(shown), "no record of case alpha is shown");
    // Asking for alpha's entity directly is answered like a missing one.
    const hit = await (
      await fetch(`${server.base}/api/search?q=${encodeURIComponent(`${person.first} ${person.last}`)}&purpose=check`, {
        headers: { cookie: "" },
      })
    ).status;
    assert.equal(hit, 401, "no credentials, no answer");
    const alphaEntity = await entityOf(person);
    await page.goto(`${server.base}/entity/${alphaEntity}`);
    await page.getByRole("alert").filter({ hasText: "it is not in your cases" }).waitFor();
    await page.context().close();

    // carol is in no case at all.
    const c = await newPage(browser);
    await signIn(c.page, server.base, "carol", fx.users.carol);
    await c.page.getByText("You are not a member of any case").waitFor();
    await c.context.close();
  });
});

/** The entity of a person's first record, asked as alice over the API with a token-less login. */
async function entityOf(person) {
  const login = await fetch(`${server.base}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user: "alice", password: fx.users.alice }),
  });
  assert.equal(login.status, 200);
  const cookie = login.headers.get("set-cookie").split(";")[0];
  const r = await fetch(`${server.base}/api/records/${person.source}:${person.id}?purpose=e2e%20check`, { headers: { cookie } });
  assert.equal(r.status, 200);
  const entity = (await r.json()).entity;
  assert.match(entity, /^E\d+$/);
  return entity;
}
