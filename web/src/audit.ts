// The audit view (auditors and admins): the hash-chained log filtered by user, case, action
// and time, and the result of verifying the chain.
import { api, type AuditEntry } from "./api";
import { alertBox, h, mount } from "./dom";

export async function auditScreen(main: HTMLElement): Promise<void> {
  const actor = h("input", { id: "a-user", autocomplete: "off" });
  const kase = h("input", { id: "a-case", autocomplete: "off" });
  const action = h("input", { id: "a-action", autocomplete: "off", placeholder: "e.g. split, search, entity.read" });
  const from = h("input", { id: "a-from", type: "datetime-local" });
  const to = h("input", { id: "a-to", type: "datetime-local" });
  const verify = h("div", { "aria-live": "polite", "data-testid": "verify" });
  const out = h("section", { "aria-live": "polite", "aria-label": "Audit entries" });

  async function load(): Promise<void> {
    mount(out, h("p", { class: "muted" }, "Loading…"));
    try {
      // Newest entries matter most: walk forward to the end in pages of 1000.
      let after: number | undefined;
      let all: AuditEntry[] = [];
      for (let i = 0; i < 50; i++) {
        const page = await api.audit({
          after,
          actor: actor.value.trim() || undefined,
          case: kase.value.trim() || undefined,
          action: action.value.trim() || undefined,
          limit: 1000,
        });
        all = all.concat(page);
        if (page.length < 1000) break;
        after = page[page.length - 1].seq;
        if (all.length > 20_000) all = all.slice(-10_000);
      }
      const lo = from.value ? new Date(from.value).toISOString() : "";
      const hi = to.value ? new Date(to.value).toISOString() : "";
      const rows = all.filter((e) => (!lo || e.at >= lo) && (!hi || e.at <= hi)).reverse().slice(0, 500);
      if (rows.length === 0) {
        mount(out, alertBox("No entry matches these filters.", "info"));
        return;
      }
      mount(
        out,
        h(
          "table",
          { class: "plain audit", "data-testid": "audit" },
          h("caption", {}, `${rows.length} entries, newest first${all.length > rows.length ? ` (of ${all.length})` : ""}`),
          h("thead", {}, h("tr", {}, ["#", "When", "User", "Case", "Purpose", "Action", "Target", "Outcome", "Detail"].map((c) => h("th", { scope: "col" }, c)))),
          h(
            "tbody",
            {},
            rows.map((e) =>
              h(
                "tr",
                { class: e.outcome === "ok" ? "" : "failed" },
                h("td", { class: "num" }, e.seq),
                h("td", { class: "small" }, e.at),
                h("td", {}, e.actor),
                h("td", {}, e.case ?? ""),
                h("td", { class: "small" }, e.purpose ?? ""),
                h("td", {}, e.action),
                h("td", { class: "small" }, e.target ?? ""),
                h("td", {}, e.outcome),
                h("td", { class: "small mono" }, e.detail && JSON.stringify(e.detail) !== "{}" ? JSON.stringify(e.detail) : ""),
              ),
            ),
          ),
        ),
      );
    } catch (x) {
      mount(out, alertBox((x as Error).message));
    }
  }

  async function runVerify(): Promise<void> {
    mount(verify, h("span", { class: "muted" }, "Verifying the chain…"));
    try {
      const v = await api.verify();
      mount(
        verify,
        v.ok
          ? alertBox(`The audit log is intact: ${v.entries} entries, every hash checks out (head ${v.head}).`, "ok")
          : h(
              "div",
              {},
              alertBox(`The audit log was altered: ${v.problems.length} problem(s) in ${v.entries} entries.`),
              h("ul", {}, v.problems.map((p) => h("li", {}, `entry ${p.seq}: ${p.message}`))),
            ),
      );
    } catch (x) {
      mount(verify, alertBox((x as Error).message));
    }
  }

  mount(
    main,
    h("h1", {}, "Audit log"),
    h(
      "form",
      { class: "filters card", onsubmit: (e: Event) => (e.preventDefault(), void load()) },
      h("div", {}, h("label", { for: "a-user" }, "User"), actor),
      h("div", {}, h("label", { for: "a-case" }, "Case"), kase),
      h("div", {}, h("label", { for: "a-action" }, "Action"), action),
      h("div", {}, h("label", { for: "a-from" }, "From"), from),
      h("div", {}, h("label", { for: "a-to" }, "To"), to),
      h("div", { class: "buttons" }, h("button", { type: "submit" }, "Filter"), h("button", { type: "button", onclick: () => void runVerify() }, "Verify the chain")),
    ),
    verify,
    out,
  );
  await Promise.all([load(), runVerify()]);
}
