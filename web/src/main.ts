// The analyst's workbench: a single-page app over SPIRIT's REST API. Routes:
//   /signin  /setup (case + purpose)  /search?q=  /entity/E12  /network/E12  /audit
import "./style.css";
import { api, ApiFailure, current, setSession, whenSignedOut, type Session } from "./api";
import { alertBox, h, mount, nameOf, kindRank, label } from "./dom";
import { entityScreen } from "./entity";
import { networkScreen } from "./network";
import { auditScreen } from "./audit";
import { uploadScreen } from "./upload";
import { link, navigate, setRouter } from "./nav";
import { caseSources, resetSources, sources } from "./scope";

const app = document.getElementById("app")!;

setRouter(() => void route());

/** Links inside the app navigate without reloading the page. */
document.addEventListener("click", (e) => {
  const a = (e.target as Element | null)?.closest?.("a[data-link]") as HTMLAnchorElement | null;
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  navigate(a.getAttribute("href")!);
});
window.addEventListener("popstate", () => void route());
whenSignedOut(() => navigate("/signin", true));



function shell(main: HTMLElement, title: string): void {
  const s = current()!;
  document.title = `${title} · SPIRIT`;
  const reader = s.role !== "auditor";
  const nav = h(
    "nav",
    { "aria-label": "Main" },
    h(
      "ul",
      {},
      reader ? h("li", {}, link("/search", "Search")) : null,
      reader ? h("li", {}, link("/upload", "Add records")) : null,
      s.role !== "analyst" ? h("li", {}, link("/audit", "Audit log")) : null,
      reader ? h("li", {}, link("/setup", "Case and purpose")) : null,
    ),
  );
  const who = h(
    "div",
    { class: "who" },
    h("span", {}, `${s.user} (${s.role})`),
    s.case ? h("span", { class: "pill", title: "case" }, `case ${s.case}`) : null,
    s.purpose ? h("span", { class: "pill purpose", title: "purpose of this session" }, `purpose: ${s.purpose}`) : null,
    h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: async () => {
          try {
            await api.logout();
          } catch {
            /* signed out either way */
          }
          setSession(null);
          resetSources();
          navigate("/signin");
        },
      },
      "Sign out",
    ),
  );
  mount(
    app,
    h("a", { class: "skip", href: "#main" }, "Skip to content"),
    h("header", { class: "top" }, h("span", { class: "brand" }, "SPIRIT"), nav, who),
    h("main", { id: "main", tabindex: "-1" }, main),
  );
}

async function route(): Promise<void> {
  const path = location.pathname;
  const s = current();
  if (path === "/signin" || !s) return signIn();
  if (s.role !== "auditor" && (!s.purpose || (!s.case && path !== "/setup")) && path !== "/audit") {
    return setup();
  }
  const parts = path.split("/").filter(Boolean);
  const main = h("div", { class: "screen" });
  switch (parts[0]) {
    case "setup":
      return setup();
    case "entity":
      shell(main, `Entity ${parts[1]}`);
      return entityScreen(main, decodeURIComponent(parts[1] ?? ""));
    case "network":
      shell(main, `Network of ${parts[1]}`);
      return networkScreen(main, decodeURIComponent(parts[1] ?? ""));
    case "upload":
      shell(main, "Add records");
      return uploadScreen(main);
    case "audit":
      shell(main, "Audit log");
      return auditScreen(main);
    case "search":
    case undefined:
      if (s.role === "auditor") return navigate("/audit", true);
      shell(main, "Search");
      return searchScreen(main, new URLSearchParams(location.search).get("q") ?? "");
    default:
      shell(main, "Not found");
      mount(main, h("h1", {}, "There is no such page"), link("/search", "Go to search"));
  }
}

function signIn(): void {
  document.title = "Sign in · SPIRIT";
  const err = h("div", { "aria-live": "assertive" });
  const user = h("input", { id: "user", name: "user", autocomplete: "username", required: true });
  const pass = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    {
      class: "card narrow",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        button.disabled = true;
        mount(err);
        try {
          const r = await api.login(user.value.trim(), pass.value);
          const next: Session = { user: r.user, role: r.role, csrf: r.csrf_token, case: null, purpose: null };
          setSession(next);
          resetSources();
          const onward = () => navigate(r.role === "auditor" ? "/audit" : "/setup", true);
          if (r.must_change_password) choosePassword(pass.value, onward);
          else onward();
        } catch (x) {
          mount(err, alertBox(x instanceof ApiFailure ? x.message : String(x)));
          pass.value = "";
          pass.focus();
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h1", {}, "Sign in to SPIRIT"),
    h("label", { for: "user" }, "User name"),
    user,
    h("label", { for: "password" }, "Password"),
    pass,
    button,
    err,
  );
  mount(app, h("main", { id: "main", class: "center" }, form));
  user.focus();
}

/** A password given to the user (created or reset) is replaced before anything else. */
function choosePassword(given: string, onward: () => void): void {
  document.title = "Choose a password · SPIRIT";
  const err = h("div", { "aria-live": "assertive" });
  const first = h("input", { id: "new-password", type: "password", autocomplete: "new-password", required: true });
  const again = h("input", { id: "new-password-again", type: "password", autocomplete: "new-password", required: true });
  const button = h("button", { type: "submit" }, "Set password");
  const form = h(
    "form",
    {
      class: "card narrow",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        mount(err);
        if (first.value !== again.value) {
          mount(err, alertBox("The two passwords differ."));
          return;
        }
        button.disabled = true;
        try {
          await api.changePassword(given, first.value);
          onward();
        } catch (x) {
          mount(err, alertBox(x instanceof ApiFailure ? x.message : String(x)));
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h1", {}, "Choose your own password"),
    h("p", {}, "The password you signed in with was given to you. Choose one only you know: at least 12 characters, without your user name."),
    h("label", { for: "new-password" }, "New password"),
    first,
    h("label", { for: "new-password-again" }, "New password again"),
    again,
    button,
    err,
  );
  mount(app, h("main", { id: "main", class: "center" }, form));
  first.focus();
}

async function setup(): Promise<void> {
  const s = current()!;
  const main = h("div", { class: "screen" });
  shell(main, "Case and purpose");
  let cases: string[] = [];
  try {
    cases = (await api.me()).cases;
  } catch (x) {
    mount(main, alertBox((x as Error).message));
    return;
  }
  const err = h("div", { "aria-live": "assertive" });
  if (cases.length === 0) {
    mount(
      main,
      h("h1", {}, "You are not a member of any case"),
      alertBox("You can see no records until an administrator adds you to a case (spirit case add … --member you).", "info"),
    );
    return;
  }
  const select = h(
    "select",
    { id: "case", required: true },
    cases.map((c) => h("option", { value: c, selected: c === s.case }, c)),
  );
  const purpose = h("input", {
    id: "purpose",
    required: true,
    maxlength: 400,
    value: s.purpose ?? "",
    placeholder: "e.g. investigation 2026/114: identify the buyer",
  });
  mount(
    main,
    h(
      "form",
      {
        class: "card narrow",
        onsubmit: (e: Event) => {
          e.preventDefault();
          const p = purpose.value.trim();
          if (!p) {
            mount(err, alertBox("Please state the purpose of this session: it is recorded with every read."));
            purpose.focus();
            return;
          }
          setSession({ ...s, case: select.value, purpose: p });
          void sources().catch(() => undefined);
          navigate("/search");
        },
      },
      h("h1", {}, "Case and purpose"),
      h("p", {}, "Choose the case you work on and say why. The purpose is recorded in the audit log with everything you read."),
      h("label", { for: "case" }, "Case"),
      select,
      h("label", { for: "purpose" }, "Purpose of this session"),
      purpose,
      h("button", { type: "submit" }, "Start"),
      err,
    ),
  );
  purpose.focus();
}

async function searchScreen(main: HTMLElement, q: string): Promise<void> {
  const input = h("input", {
    id: "q",
    type: "search",
    value: q,
    autocomplete: "off",
    placeholder: "name, e-mail, phone, username, wallet… typos are fine",
  });
  const results = h("section", { "aria-live": "polite", "aria-label": "Search results" });
  const form = h(
    "form",
    {
      role: "search",
      class: "searchbar",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const v = input.value.trim();
        history.replaceState(null, "", v ? `/search?q=${encodeURIComponent(v)}` : "/search");
        void runSearch(v, results);
      },
    },
    h("label", { for: "q" }, "Search names and identifiers"),
    h("div", { class: "row" }, input, h("button", { type: "submit" }, "Search")),
  );
  mount(main, h("h1", { class: "visually-hidden" }, "Search"), form, results);
  input.focus();
  if (q) await runSearch(q, results);
}

async function runSearch(q: string, out: HTMLElement): Promise<void> {
  if (!q) {
    mount(out);
    return;
  }
  mount(out, h("p", { class: "muted" }, "Searching…"));
  const t0 = performance.now();
  try {
    const [res, inCase] = await Promise.all([api.search(q, 50), caseSources()]);
    // One row per entity: its best hit, with the entity's source counts.
    const seen = new Set<string>();
    const rows = res.hits.filter((hit) => {
      if (inCase && !inCase.has(hit.record.split(":")[0])) return false;
      const k = hit.entity ?? hit.record;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    if (rows.length === 0) {
      mount(out, alertBox(`Nothing matches “${q}” in this case.`, "info"));
      return;
    }
    const table = h(
      "table",
      { class: "results", "data-testid": "results" },
      h("caption", {}, `${rows.length} ${rows.length === 1 ? "entity" : "entities"} for “${q}”`),
      h(
        "thead",
        {},
        h("tr", {}, ["Entity", "Name", "Date of birth", "Identifiers", "Sources", "Matched"].map((c) => h("th", { scope: "col" }, c))),
      ),
      h(
        "tbody",
        {},
        rows.map((hit) => {
          const attrs = [...hit.attributes].sort((a, b) => kindRank(a.kind) - kindRank(b.kind));
          const ids = attrs
            .filter((a) => ["email", "phone", "username", "wallet", "national_id"].includes(a.kind))
            .map((a) => h("span", { class: "chip", title: label(a.kind) }, a.raw));
          const dob = attrs.find((a) => a.kind === "date_of_birth")?.raw ?? "";
          const target = hit.entity ? `/entity/${hit.entity}` : null;
          return h(
            "tr",
            {},
            h("td", {}, target ? link(target, hit.entity!) : h("span", { class: "muted" }, "unresolved")),
            h("td", {}, target ? link(target, nameOf(attrs) ?? hit.record) : nameOf(attrs) ?? hit.record),
            h("td", {}, dob),
            h("td", {}, ids),
            h(
              "td",
              {},
              hit.sources.map((s) => h("span", { class: "chip source" }, `${s.source} ×${s.records}`)),
            ),
            h(
              "td",
              { class: "muted small" },
              hit.matched.map((m) => (m.token === m.term ? m.term : `${m.token}→${m.term}`)).join(", "),
            ),
          );
        }),
      ),
    );
    mount(out, table);
    out.dataset.renderMs = String(Math.round(performance.now() - t0));
  } catch (x) {
    mount(out, alertBox((x as Error).message));
  }
}

void route();
