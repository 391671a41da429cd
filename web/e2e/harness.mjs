// What the end-to-end tests and the UI benchmark share: a workspace made with the `spirit`
// CLI, a real `spirit serve` on loopback, and Debian's Chromium driven by playwright-core.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.SPIRIT_CHROMIUM ?? "/usr/bin/chromium";

/** The flags this machine's closed network needs (no background connections). */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The `spirit` binary: $SPIRIT_BIN (set by the Makefile to the cargo build's binary). */
export function spiritBin() {
  const bin = process.env.SPIRIT_BIN;
  if (!bin) throw new Error("set SPIRIT_BIN to the spirit binary (e.g. $CARGO_TARGET_DIR/debug/spirit)");
  return bin;
}

/** Runs the CLI; returns stdout or throws with its stderr. */
export function spirit(...args) {
  const r = spawnSync(spiritBin(), args, { encoding: "utf8", env: { ...process.env, USER: "e2e-setup" } });
  if (r.status !== 0) throw new Error(`spirit ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export function passwordOf(output) {
  const m = /^password: (\S+)$/m.exec(output);
  if (!m) throw new Error(`no password in: ${output}`);
  return m[1];
}

/**
 * The demo workspace: the bundled demo people split into two sources of case "alpha"
 * (police, tips) and a third source in case "beta"; users alice (analyst, alpha),
 * bob (analyst, beta), carol (analyst, no case), audrey (auditor).
 */
export function makeDemoWorkspace(demoCsv) {
  const root = mkdtempSync(join(tmpdir(), "spirit-e2e-"));
  const ws = join(root, "ws");
  const lines = readFileSync(demoCsv, "utf8").trim().split(/\r?\n/);
  const header = lines[0];
  const rows = lines.slice(1, 901);
  const police = [header, ...rows.filter((_, i) => i % 2 === 0)];
  const tips = [header, ...rows.filter((_, i) => i % 2 === 1)];
  // Case beta holds other people only (none of alpha's clusters).
  const clusterCol = header.split(",").indexOf("cluster_id");
  const alphaClusters = new Set(rows.map((l) => l.split(",")[clusterCol]));
  const other = [header, ...lines.slice(901).filter((l) => !alphaClusters.has(l.split(",")[clusterCol])).slice(0, 200)];
  // A person with records in both sources of alpha (by the demo's truth column).
  const cols = header.split(",");
  const at = (k) => cols.indexOf(k);
  const byCluster = new Map();
  rows.forEach((line, i) => {
    const f = line.split(",");
    const key = f[at("cluster_id")];
    if (!byCluster.has(key)) byCluster.set(key, []);
    byCluster.get(key).push({ source: i % 2 === 0 ? "police" : "tips", id: f[at("rec_id")], first: f[at("first_name")], last: f[at("surname")], phone: f[at("phone")] });
  });
  const common = (xs) => [...xs].sort((a, b) => xs.filter((x) => x === b).length - xs.filter((x) => x === a).length)[0];
  const people = [...byCluster.values()]
    .filter((recs) => recs.length >= 3 && new Set(recs.map((r) => r.source)).size === 2)
    .map((recs) => ({ ...recs[0], first: common(recs.map((r) => r.first)), last: common(recs.map((r) => r.last)), records: recs.length }))
    .filter((p) => p.last.length >= 5);
  // Two made-up people: x1 shares a phone with people[1], x2 shares an e-mail with x1, so
  // the network of people[1] has a neighbour and a path of two links to x2.
  const net = people[1];
  const row = (o) => cols.map((c) => o[c] ?? "").join(",");
  tips.push(row({ rec_id: "x1", first_name: "Zebedee", surname: "Quaternion", dob: "1901-01-01", address: "1 Nowhere Road", city: "Elsewhere", postcode: "99999", email: "zq@example.org", phone: net.phone }));
  tips.push(row({ rec_id: "x2", first_name: "Ottoline", surname: "Varga", dob: "1902-02-02", address: "2 Somewhere Lane", city: "Anywhere", postcode: "88888", email: "zq@example.org", phone: "555-000-1111" }));
  for (const [name, body] of [["police", police], ["tips", tips], ["other", other]]) {
    writeFileSync(join(root, `${name}.csv`), body.join("\n") + "\n");
  }
  spirit("init", ws);
  const users = {};
  for (const [name, role] of [["alice", "analyst"], ["bob", "analyst"], ["carol", "analyst"], ["audrey", "auditor"]]) {
    users[name] = passwordOf(spirit("user", "add", ws, name, "--role", role));
  }
  spirit("case", "add", ws, "alpha", "--member", "alice", "--source", "police", "--source", "tips", "--legal-basis", "e2e investigation");
  spirit("case", "add", ws, "beta", "--member", "bob", "--source", "other", "--legal-basis", "e2e other case");
  for (const name of ["police", "tips", "other"]) {
    spirit("ingest", ws, "--source", name, "--id-column", "rec_id", join(root, `${name}.csv`));
  }
  spirit("resolve", ws);
  return { root, ws, users, people, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts `spirit serve` on a free loopback port and waits until it answers. */
export async function startServer(ws) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(spiritBin(), ["serve", ws, "--listen", `127.0.0.1:${port}`, "--insecure-cookie"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`spirit serve exited: ${log}`);
    try {
      const r = await fetch(`${base}/openapi.json`);
      if (r.ok) break;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    log: () => log,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill("SIGINT");
      await new Promise((r) => {
        const t = setTimeout(() => (child.kill("SIGKILL"), r()), 5000);
        child.once("exit", () => (clearTimeout(t), r()));
      });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, chromiumSandbox: false });
}

/** A new page at 1280×800 that records console errors and CSP violations. */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  return { context, page, problems };
}

/**
 * Each user chooses their own password over the API (the printed one must be changed at
 * the first login); returns the passwords chosen.
 */
export async function choosePasswords(base, users) {
  const chosen = {};
  for (const [name, given] of Object.entries(users)) {
    const login = await fetch(`${base}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user: name, password: given }),
    });
    if (login.status !== 200) throw new Error(`login of ${name}: ${login.status}`);
    const { csrf_token } = await login.json();
    const cookie = login.headers.get("set-cookie").split(";")[0];
    const next = `${given} chosen`;
    const r = await fetch(`${base}/api/password`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie, "x-csrf-token": csrf_token },
      body: JSON.stringify({ current: given, new: next }),
    });
    if (r.status !== 200) throw new Error(`password change of ${name}: ${r.status} ${await r.text()}`);
    chosen[name] = next;
  }
  return chosen;
}

/** Signs in, and picks the case and purpose if asked. */
export async function signIn(page, base, user, password, { kase, purpose } = {}) {
  await page.goto(`${base}/signin`);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  if (kase) {
    await page.getByLabel("Case", { exact: true }).selectOption(kase);
    await page.getByLabel("Purpose of this session").fill(purpose ?? "e2e test");
    await page.getByRole("button", { name: "Start" }).click();
    await page.getByLabel("Search names and identifiers").waitFor();
  }
}

export function outDir(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A typo: two neighbouring letters swapped in the middle of the word. */
export function typo(word) {
  if (word.length < 4) return word + word.at(-1);
  const i = Math.floor(word.length / 2) - 1;
  return word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2);
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
}
