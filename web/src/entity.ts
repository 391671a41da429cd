// The identity page: an entity's records side by side, their provenance, a timeline, the
// explanation waterfall of every link, and the decisions (confirm, reject, merge, undo).
import { api, type Edge, type EntityView, type HistoryEvent, type JudgeResult, type RecordView } from "./api";
import { alertBox, fmtProb, fmtWeight, h, kindRank, label, mount, nameOf } from "./dom";
import { link } from "./nav";

/** The last decision made on this page, so it can be undone. */
let lastDecision: { left: string; right: string; verdict: string; entity: string } | null = null;

export async function entityScreen(main: HTMLElement, id: string, notice?: HTMLElement): Promise<void> {
  mount(main, h("p", { class: "muted" }, `Loading ${id}…`));
  const t0 = performance.now();
  let view: EntityView;
  let edges: Edge[] = [];
  let edgeTotal = 0;
  let events: HistoryEvent[] = [];
  try {
    const [v, e, hist] = await Promise.all([api.entity(id), api.edges(id, 0, 20), api.history(id)]);
    view = v;
    edges = e.edges;
    edgeTotal = e.total;
    events = hist.events;
  } catch (x) {
    mount(main, h("h1", {}, `Entity ${id}`), alertBox((x as Error).message), link("/search", "Back to search"));
    return;
  }
  const name = bestName(view) ?? view.entity;
  const sources = new Set(view.records.map((r) => r.source));
  const header = h(
    "div",
    { class: "entity-head" },
    h("h1", {}, h("span", { class: "eid" }, view.entity), " ", name),
    h(
      "p",
      { class: "muted" },
      `${view.records.length} record${view.records.length === 1 ? "" : "s"} from ${sources.size} source${sources.size === 1 ? "" : "s"} · ${edgeTotal} scored link${edgeTotal === 1 ? "" : "s"} · since ${view.created_at}`,
    ),
    view.retired_at
      ? alertBox(
          `This entity was retired at ${view.retired_at}${view.retired_into ? `; its records are now in ${view.retired_into}` : ""}.`,
          "info",
        )
      : null,
    h(
      "div",
      { class: "actions" },
      link(`/network/${view.entity}`, "Network view"),
      view.retired_into ? link(`/entity/${view.retired_into}`, `Open ${view.retired_into}`) : null,
    ),
  );
  const sections = [
    header,
    notice ?? null,
    h("div", { id: "decision-status", "aria-live": "polite" }),
    section("Records side by side", "grid", attributeGrid(view.records)),
    section("Why these records are one: the explanation of each link", "waterfall", waterfalls(view, edges, edgeTotal, main)),
    section("Sources and provenance", "provenance", provenance(view.records)),
    section("Timeline", "timeline", timeline(view)),
    section("Merge with another entity", "merge", mergeForm(view, main)),
    section("History: what changed and who decided what", "history", historyTable(view, events)),
  ];
  mount(main, ...sections);
  main.dataset.renderMs = String(Math.round(performance.now() - t0));
  main.dataset.entity = view.entity;
}

/** The most common name among the entity's records. */
export function bestName(view: EntityView): string | null {
  const top = (kind: string) => view.attributes.find((a) => a.kind === kind)?.values.slice().sort((a, b) => b.records - a.records)[0]?.value;
  const raw = (kind: string) => {
    const v = top(kind);
    // The summary holds normalised values; show a record's own spelling of it.
    const r = view.records.flatMap((x) => x.attributes).find((a) => a.kind === kind && (a.value ?? a.raw) === v);
    return r?.raw ?? v;
  };
  const full = raw("full_name");
  if (full) return full;
  const parts = [raw("given_name"), raw("surname")].filter(Boolean);
  return parts.length ? parts.join(" ") : nameOf(view.records[0]?.attributes ?? []);
}

function section(title: string, id: string, ...content: (Node | null)[]): HTMLElement {
  return h("section", { class: "card", id, "aria-labelledby": `${id}-h` }, h("h2", { id: `${id}-h` }, title), ...content);
}

/** Rows are attribute kinds, columns records; a value unlike the row's most common one is marked. */
function attributeGrid(records: RecordView[]): HTMLElement {
  const kinds = [...new Set(records.flatMap((r) => r.attributes.map((a) => a.kind)))].sort(
    (a, b) => kindRank(a) - kindRank(b) || a.localeCompare(b),
  );
  // A name's further spellings have no raw text of their own: their value stands in.
  const cell = (r: RecordView, kind: string) =>
    r.attributes
      .filter((a) => a.kind === kind)
      .map((a) => a.raw || (a.value ?? ""))
      .filter((v) => v !== "")
      .join(" / ");
  const norm = (r: RecordView, kind: string) =>
    r.attributes
      .filter((a) => a.kind === kind)
      .map((a) => a.value ?? a.raw.toLowerCase())
      .join("/");
  const body = kinds.map((kind) => {
    const counts = new Map<string, number>();
    for (const r of records) {
      const v = norm(r, kind);
      if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const common = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, label(kind)),
      records.map((r) => {
        const v = norm(r, kind);
        const differs = v !== "" && counts.size > 1 && v !== common;
        return h(
          "td",
          { class: differs ? "differs" : v === "" ? "empty" : "" },
          cell(r, kind) || "—",
          differs ? h("span", { class: "visually-hidden" }, " (differs)") : null,
        );
      }),
    );
  });
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "grid", "data-testid": "attribute-grid" },
      h("caption", { class: "muted small" }, "Values unlike the most common one in their row are marked (differs)."),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "attribute"), records.map((r) => h("th", { scope: "col" }, r.key)))),
      h("tbody", {}, body),
    ),
  );
}

function provenance(records: RecordView[]): HTMLElement {
  return h(
    "table",
    { class: "plain" },
    h("thead", {}, h("tr", {}, ["Record", "Source", "From", "Stored at", "Raw payload"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      records.map((r) =>
        h(
          "tr",
          {},
          h("td", {}, r.key),
          h("td", {}, r.source),
          h("td", { class: "small" }, r.provenance),
          h("td", { class: "small" }, r.stored_at),
          h("td", {}, h("details", {}, h("summary", {}, "Show raw payload"), h("pre", { class: "payload" }, r.payload))),
        ),
      ),
    ),
  );
}

function timeline(view: EntityView): HTMLElement {
  const events: { at: string; text: string }[] = [
    ...view.records.map((r) => ({ at: r.stored_at, text: `record ${r.key} stored (source ${r.source}, ${r.provenance})` })),
    ...view.judgements.map((j) => ({ at: j.at, text: `${j.author} judged ${j.left} / ${j.right}: ${j.verdict}` })),
  ];
  events.sort((a, b) => a.at.localeCompare(b.at));
  return h(
    "ol",
    { class: "timeline" },
    events.map((e) => h("li", {}, h("time", {}, e.at), " ", e.text)),
  );
}

function waterfalls(view: EntityView, edges: Edge[], total: number, main: HTMLElement): HTMLElement {
  if (edges.length === 0) {
    return h(
      "p",
      { class: "muted" },
      view.records.length > 1
        ? "These records are joined by judgements or by other links not visible in your cases."
        : "A single record: there is no link to explain.",
    );
  }
  return h(
    "div",
    {},
    total > edges.length ? h("p", { class: "muted" }, `The ${edges.length} strongest of ${total} links.`) : null,
    edges.map((e, i) => waterfall(e, i, view, main)),
  );
}

/** One link: prior, each comparison's partial weight, the total and its probability. */
function waterfall(e: Edge, i: number, view: EntityView, main: HTMLElement): HTMLElement {
  const steps: { name: string; w: number }[] = [
    { name: "prior (before comparing)", w: e.prior_weight },
    ...e.partials.map((p) => ({ name: label(p.comparison), w: p.weight })),
  ];
  if (Math.abs(e.adjustment) > 0.005) steps.push({ name: "household correction", w: e.adjustment });
  let run = 0;
  let lo = 0;
  let hi = 0;
  const spans = steps.map((s) => {
    const from = run;
    run += s.w;
    lo = Math.min(lo, from, run);
    hi = Math.max(hi, from, run);
    return { ...s, from, to: run };
  });
  lo = Math.min(lo, e.weight);
  hi = Math.max(hi, e.weight);
  const width = hi - lo || 1;
  const bar = (from: number, to: number, cls: string) => {
    const b = h("span", { class: `bar ${cls}` });
    b.style.left = `${((Math.min(from, to) - lo) / width) * 100}%`;
    b.style.width = `${Math.max((Math.abs(to - from) / width) * 100, 0.5)}%`;
    return b;
  };
  const zero = h("span", { class: "zero" });
  zero.style.left = `${((0 - lo) / width) * 100}%`;
  const rows = spans.map((s) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, s.name),
      h("td", { class: "num" }, fmtWeight(s.w)),
      h("td", { class: "track", "aria-hidden": "true" }, zero.cloneNode(), bar(s.from, s.to, s.w >= 0 ? "up" : "down")),
    ),
  );
  rows.push(
    h(
      "tr",
      { class: "total" },
      h("th", { scope: "row" }, "match weight"),
      h("td", { class: "num" }, fmtWeight(e.weight)),
      h("td", { class: "track", "aria-hidden": "true" }, zero.cloneNode(), bar(0, e.weight, "sum")),
    ),
  );
  for (const a of e.advisory ?? []) {
    rows.push(
      h(
        "tr",
        { class: "advisory", "data-testid": "advisory" },
        h("th", { scope: "row" }, `${label(a.comparison)} (advisory, not counted)`),
        h("td", { class: "num muted" }, fmtWeight(a.weight)),
        h("td", { class: "muted" }, `${a.level}${a.calibration ? ` · ${a.calibration}` : ""}`),
      ),
    );
  }
  const status = h("div", { "aria-live": "polite" });
  return h(
    "article",
    { class: "link-card", "data-testid": "waterfall", "aria-label": `link ${e.left} and ${e.right}` },
    h(
      "h3",
      {},
      `${e.left} ↔ ${e.right}: `,
      h("strong", { class: "prob" }, fmtProb(e.probability)),
      h("span", { class: "muted" }, " probability of the same person"),
    ),
    h(
      "table",
      { class: "waterfall" },
      h("caption", { class: "visually-hidden" }, `Partial match weights (log2 Bayes factors) of ${e.left} and ${e.right}`),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "comparison"), h("th", { scope: "col" }, "weight"), h("th", { scope: "col" }, "running total"))),
      h("tbody", {}, rows),
    ),
    decideForm(e.left, e.right, i, view, main, status),
    status,
  );
}

function decideForm(left: string, right: string, i: number, view: EntityView, main: HTMLElement, status: HTMLElement): HTMLElement {
  const reasonId = `reason-${i}`;
  const reason = h("input", { id: reasonId, class: "reason", placeholder: "why (recorded)", maxlength: 2000 });
  const act = async (verdict: "same" | "not-same") => {
    const why = reason.value.trim();
    if (!why) {
      mount(status, alertBox("Please give a reason: it is recorded with the decision."));
      reason.focus();
      return;
    }
    try {
      const r = verdict === "not-same" ? await api.split(left, right, why) : await api.judge("same", left, right, why);
      lastDecision = { left, right, verdict, entity: view.entity };
      await afterDecision(r, view.entity, main);
    } catch (x) {
      mount(status, alertBox((x as Error).message));
    }
  };
  return h(
    "form",
    { class: "decide", onsubmit: (e: Event) => e.preventDefault() },
    h("label", { for: reasonId }, "Reason"),
    reason,
    h("button", { type: "button", class: "confirm", onclick: () => act("same") }, "Confirm link"),
    h("button", { type: "button", class: "reject", onclick: () => act("not-same") }, "Reject link (split)"),
  );
}

function describe(r: JudgeResult): string {
  const c = r.changes;
  const parts = [
    c.split ? `${c.split} split` : "",
    c.merged ? `${c.merged} merged` : "",
    c.created ? `${c.created} created` : "",
    c.retired ? `${c.retired} retired` : "",
    c.moved ? `${c.moved} record${c.moved === 1 ? "" : "s"} moved` : "",
  ].filter(Boolean);
  const ents = [r.left_entity, r.right_entity].filter(Boolean);
  const where =
    r.left_entity && r.right_entity && r.left_entity !== r.right_entity
      ? `${r.left} is now in ${r.left_entity}, ${r.right} in ${r.right_entity}.`
      : ents.length
        ? `Both records are in ${ents[0]}.`
        : "";
  return `Recorded: ${r.verdict} for ${r.left} / ${r.right}. ${parts.length ? `Entities changed: ${parts.join(", ")}.` : "No entity changed."} ${where}`;
}

/** Shows the outcome at once: the page reloads with the new shape and an undo button. */
async function afterDecision(r: JudgeResult, entity: string, main: HTMLElement): Promise<void> {
  const stay = [r.left_entity, r.right_entity].includes(entity) ? entity : (r.left_entity ?? entity);
  const other = [r.left_entity, r.right_entity].find((e) => e && e !== stay);
  const notice = h(
    "div",
    { class: "notice ok", role: "status", "data-testid": "decision" },
    describe(r),
    " ",
    other ? link(`/entity/${other}`, `Open ${other}`) : null,
    " ",
    undoButton(main),
  );
  if (stay !== entity) history.replaceState(null, "", `/entity/${stay}`);
  await entityScreen(main, stay, notice);
}

function undoButton(main: HTMLElement): HTMLElement | null {
  const d = lastDecision;
  if (!d) return null;
  return h(
    "button",
    {
      type: "button",
      class: "undo",
      onclick: async () => {
        try {
          // "unsure" withdraws the judgement in force on the pair: the model decides again.
          const r = await api.judge("unsure", d.left, d.right, `undo of ${d.verdict}`);
          lastDecision = null;
          const stay = r.left_entity ?? d.entity;
          history.replaceState(null, "", `/entity/${stay}`);
          await entityScreen(
            main,
            stay,
            h("div", { class: "notice ok", role: "status", "data-testid": "decision" }, `Undone: the ${d.verdict} decision on ${d.left} / ${d.right} was withdrawn. ${describe(r)}`),
          );
        } catch (x) {
          const s = main.querySelector("#decision-status");
          if (s) mount(s, alertBox((x as Error).message));
        }
      },
    },
    "Undo",
  );
}

function mergeForm(view: EntityView, main: HTMLElement): HTMLElement {
  const other = h("input", { id: "merge-other", placeholder: "E123", pattern: "[Ee]?[0-9]{1,15}", required: true });
  const reason = h("input", { id: "merge-reason", required: true, maxlength: 2000 });
  const status = h("div", { "aria-live": "polite" });
  return h(
    "form",
    {
      class: "inline-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const o = other.value.trim();
        const why = reason.value.trim();
        if (!o || !why) {
          mount(status, alertBox("Give the other entity's id and a reason."));
          return;
        }
        try {
          const r = await api.merge(view.entity, o, why);
          lastDecision = { left: r.left, right: r.right, verdict: "same", entity: view.entity };
          await afterDecision(r, view.entity, main);
        } catch (x) {
          mount(status, alertBox((x as Error).message));
        }
      },
    },
    h("label", { for: "merge-other" }, "Other entity"),
    other,
    h("label", { for: "merge-reason" }, "Reason"),
    reason,
    h("button", { type: "submit" }, "Merge"),
    status,
  );
}

const plural = (n: unknown, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

/** One event told from the point of view of `entity`: what happened, and to which records. */
function describeEvent(e: HistoryEvent, entity: string): { what: string; records: string } {
  const d = e.detail ?? {};
  const n = d.records;
  const mine = e.entity === entity;
  switch (e.kind) {
    case "create":
      return { what: "created", records: n === undefined ? "" : plural(n, "record") };
    case "attach":
      return { what: "record joined", records: e.record ?? (n === undefined ? "" : plural(n, "record")) };
    case "merge":
      return mine
        ? { what: `took in ${e.other ?? "another entity"}`, records: n === undefined ? "" : plural(n, "record") }
        : { what: `merged into ${e.entity}`, records: n === undefined ? "" : plural(n, "record") };
    case "split":
      return mine
        ? { what: `split: part went to ${e.other ?? "another entity"}`, records: n === undefined ? "" : plural(n, "record") }
        : { what: `split off from ${e.entity}`, records: n === undefined ? "" : plural(n, "record") };
    case "retire":
      return { what: d.reason === "erasure" ? "retired: its records were erased" : "retired", records: "" };
    case "judgement":
      return d.erased
        ? { what: "decision (about records since erased)", records: "" }
        : { what: `decision: ${String(d.verdict ?? "?")}`, records: `${String(d.left ?? "?")} / ${String(d.right ?? "?")}` };
    default:
      return { what: e.kind, records: e.record ?? "" };
  }
}

/** Every event of the entity, newest first: runs that created, joined, merged or split it,
 * and analysts' decisions with author and reason (and whether a later one replaced them). */
function historyTable(view: EntityView, events: HistoryEvent[]): HTMLElement {
  if (events.length === 0) return h("p", { class: "muted" }, "Nothing has happened to this entity yet.");
  const inForce = new Map(view.judgements.map((j) => [j.id, j.in_force]));
  return h(
    "table",
    { class: "plain", "data-testid": "history" },
    h("thead", {}, h("tr", {}, ["When", "What", "Who", "Records", "Reason", "In force"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      [...events].reverse().map((e) => {
        const d = e.detail ?? {};
        const { what, records } = describeEvent(e, view.entity);
        const judged = e.kind === "judgement" && typeof d.judgement === "number" ? inForce.get(d.judgement) : undefined;
        const who = e.kind === "judgement" ? String(d.author ?? "") : e.run === null ? "" : `run ${e.run}`;
        return h(
          "tr",
          { class: judged === false ? "muted" : "", "data-kind": e.kind },
          h("td", { class: "small" }, e.at),
          h("td", {}, what),
          h("td", {}, who),
          h("td", {}, records),
          h("td", {}, e.kind === "judgement" ? String(d.reason ?? "") : ""),
          h("td", {}, judged === undefined ? "" : judged ? "yes" : "replaced"),
        );
      }),
    ),
  );
}

