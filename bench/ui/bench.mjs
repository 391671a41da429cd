// The UI benchmark's driver (see bench/ui/run).
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { launchBrowser, median, newPage, signIn, startServer, spirit, passwordOf, typo } from "../../web/e2e/harness.mjs";

const [binArg, wsArg, nArg] = process.argv.slice(2);
process.env.SPIRIT_BIN = resolve(binArg);
const ws = resolve(wsArg);
const n = Number(nArg ?? 20);
if (!Number.isInteger(n) || n < 1) throw new Error(`QUERIES must be a positive number, not ${nArg}`);

/** Reads the workspace (read-only) with Python's sqlite3: sources, cases, sample names. */
function inspect(count) {
  const py = `
import json, sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "/spirit.db?mode=ro", uri=True)
sources = db.execute("SELECT s.name, c.name FROM sources s LEFT JOIN cases c ON c.id = s.case_id").fetchall()
ids = [r[0] for r in db.execute("SELECT record FROM attributes WHERE kind = 'surname' ORDER BY random() LIMIT ?", (int(sys.argv[2]),))]
names = []
for i in ids:
    got = dict(db.execute("SELECT kind, raw FROM attributes WHERE record = ? AND kind IN ('given_name', 'surname')", (i,)).fetchall())
    if got.get("surname"):
        names.append([got.get("given_name", ""), got["surname"]])
print(json.dumps({"sources": sources, "names": names}))
`;
  const r = spawnSync("python3", ["-c", py, ws, String(count)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cannot read ${ws}/spirit.db: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const t0 = Date.now();
const { sources, names } = inspect(n);
if (names.length === 0) throw new Error(`${ws} holds no records with a surname`);
const user = `ui-bench-${Date.now()}`;
const password = passwordOf(spirit("user", "add", ws, user, "--role", "analyst"));
const cases = [...new Set(sources.map(([, c]) => c).filter(Boolean))];
for (const c of cases) spirit("case", "add", ws, c, "--member", user);
const loose = sources.filter(([, c]) => !c).map(([s]) => s);
spirit("case", "add", ws, "ui-bench", "--member", user, ...loose.flatMap((s) => ["--source", s]), "--legal-basis", "UI benchmark");
// The case with the most sources is the one worked on.
const counts = new Map();
for (const [, c] of sources) counts.set(c ?? "ui-bench", (counts.get(c ?? "ui-bench") ?? 0) + 1);
const kase = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];

const server = await startServer(ws);
const browser = await launchBrowser();
const search = [];
const entity = [];
let found = 0;
try {
  const { page } = await newPage(browser);
  await signIn(page, server.base, user, password, { kase, purpose: "UI benchmark" });
  console.log(`setup: ${Date.now() - t0} ms (${names.length} queries, case ${kase}, ${sources.length} sources)`);
  // One warm-up query: the first search opens the server's read connections.
  const box = page.getByLabel("Search names and identifiers");
  for (const [i, [first, last]] of [names[0], ...names].entries()) {
    const q = `${first} ${typo(last)}`.trim();
    await page.goto(`${server.base}/search`);
    await box.fill(q);
    const s0 = Date.now();
    await box.press("Enter");
    const done = page.getByTestId("results").or(page.getByText(/Nothing matches/));
    await done.waitFor({ timeout: 60_000 });
    const sMs = Date.now() - s0;
    const link = page.getByTestId("results").locator("tbody tr a").first();
    let eMs = null;
    if (await link.count()) {
      const e0 = Date.now();
      await link.click();
      await page.getByTestId("attribute-grid").or(page.getByRole("alert")).waitFor({ timeout: 60_000 });
      eMs = Date.now() - e0;
    }
    if (i === 0) continue;
    search.push(sMs);
    if (eMs !== null) {
      entity.push(eMs);
      found++;
    }
  }
} finally {
  await browser.close();
  await server.stop();
}
const line = (name, xs) =>
  `${name.padEnd(15)} n=${String(xs.length).padStart(3)}  median ${String(median(xs)).padStart(5)} ms  max ${String(Math.max(...xs)).padStart(5)} ms  ${Math.max(...xs) < 1000 ? "under" : "OVER"} the 1 s bar`;
console.log(`workspace: ${ws}`);
console.log(line("search results", search));
if (entity.length) console.log(line("identity page", entity));
console.log(`queries with a hit: ${found} of ${search.length}`);
