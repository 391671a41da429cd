// The network view: entities and the identifiers they share, drawn by Cytoscape.js with the
// fCoSE force-directed layout. Expand a node (neighbours a page at a time; hubs are shown
// with their count and never followed), find the shortest path between two entities,
// filter by source and time, export PNG, GraphML or JSON.
import cytoscape, { type Core, type NodeSingular } from "cytoscape";
import fcose from "cytoscape-fcose";
import { api, type NeighbourLink } from "./api";
import { alertBox, h, mount } from "./dom";
import { bestName } from "./entity";
import { link, navigate } from "./nav";
import { caseSources } from "./scope";

cytoscape.use(fcose);

interface EntityInfo {
  label: string;
  sources: string[];
  times: string[];
}

const PAGE = 25;

export async function networkScreen(main: HTMLElement, root: string): Promise<void> {
  const status = h("div", { "aria-live": "polite", class: "net-status" });
  const graph = h("div", { class: "graph", id: "graph", role: "img", "aria-label": `Network around ${root}` });
  const nodeList = h("ul", { class: "node-list", "aria-label": "Entities in the network" });
  const sourceSel = h("select", { id: "f-source" }, h("option", { value: "" }, "every source"));
  const from = h("input", { id: "f-from", type: "date" });
  const to = h("input", { id: "f-to", type: "date" });
  const pathTo = h("input", { id: "path-to", placeholder: "E123", pattern: "[Ee]?[0-9]{1,15}" });
  const info = new Map<string, EntityInfo>();
  const pages = new Map<string, number>(); // entity -> next offset (absent: not expanded)
  const totals = new Map<string, number>();
  const inCase = await caseSources();

  mount(
    main,
    h("h1", {}, "Network around ", link(`/entity/${root}`, root)),
    h(
      "div",
      { class: "net" },
      h(
        "aside",
        { class: "net-side card" },
        h(
          "form",
          { class: "stack", onsubmit: (e: Event) => (e.preventDefault(), applyFilter()) },
          h("h2", {}, "Filter"),
          h("label", { for: "f-source" }, "Source"),
          sourceSel,
          h("label", { for: "f-from" }, "Records stored from"),
          from,
          h("label", { for: "f-to" }, "to"),
          to,
          h("button", { type: "submit" }, "Apply filter"),
        ),
        h(
          "form",
          {
            class: "stack",
            onsubmit: async (e: Event) => {
              e.preventDefault();
              await shortestPath(pathTo.value.trim());
            },
          },
          h("h2", {}, "Shortest path"),
          h("label", { for: "path-to" }, `From ${root} to`),
          pathTo,
          h("button", { type: "submit" }, "Find path"),
        ),
        h(
          "div",
          { class: "stack" },
          h("h2", {}, "Export"),
          h("button", { type: "button", onclick: () => exportPng() }, "PNG image"),
          h("button", { type: "button", onclick: () => download(`network-${root}.graphml`, "application/graphml+xml", graphml(cy)) }, "GraphML"),
          h(
            "button",
            { type: "button", onclick: () => download(`network-${root}.json`, "application/json", JSON.stringify(cy.json(), null, 1)) },
            "JSON",
          ),
        ),
      ),
      h("div", { class: "net-main" }, status, graph, h("h2", { class: "small-h" }, "Entities (Enter expands)"), nodeList),
    ),
  );

  // Cytoscape would inject a <style> element (refused by the CSP) unless one with its id is
  // there; style.css gives the container the position it wants.
  if (!document.getElementById("__________cytoscape_stylesheet")) {
    document.head.append(h("meta", { id: "__________cytoscape_stylesheet", name: "cytoscape-style", content: "in style.css" }));
  }
  const cy: Core = cytoscape({
    container: graph,
    style: [
      {
        selector: "node",
        style: { label: "data(label)", "font-size": 10, "text-wrap": "wrap", "text-max-width": "110px", color: "#111" },
      },
      { selector: "node.entity", style: { "background-color": "#2b6cb0", width: 26, height: 26 } },
      { selector: "node.root", style: { "background-color": "#9b2c2c", width: 34, height: 34 } },
      { selector: "node.ident", style: { shape: "diamond", "background-color": "#b7791f", width: 16, height: 16, "font-size": 8 } },
      { selector: "node.hub", style: { shape: "hexagon", "background-color": "#718096", width: 22, height: 22 } },
      { selector: "node.more", style: { shape: "round-rectangle", "background-color": "#e2e8f0", "border-width": 1, "border-color": "#4a5568" } },
      { selector: "edge", style: { width: 1.5, "line-color": "#a0aec0", "curve-style": "bezier" } },
      { selector: "edge.scored", style: { width: 3, "line-color": "#2f855a", label: "data(label)", "font-size": 8 } },
      { selector: "node.path", style: { "background-color": "#d53f8c", "border-width": 3, "border-color": "#702459" } },
      { selector: "edge.path", style: { "line-color": "#d53f8c", width: 5 } },
      { selector: ".filtered", style: { opacity: 0.12 } },
      { selector: ":selected", style: { "border-width": 3, "border-color": "#000" } },
    ],
  });
  cy.on("tap", "node.entity", (e) => void expand(e.target.id()));
  cy.on("tap", "node.more", (e) => void expand(e.target.data("of")));
  cy.on("dbltap", "node.entity", (e) => navigate(`/entity/${e.target.id()}`));

  function addEntity(id: string, cls = "entity"): void {
    if (cy.getElementById(id).nonempty()) return;
    cy.add({ group: "nodes", data: { id, label: id }, classes: cls });
    void describeEntity(id);
  }

  async function describeEntity(id: string): Promise<void> {
    if (info.has(id)) return;
    try {
      const v = await api.entity(id);
      const i: EntityInfo = {
        label: `${id}\n${bestName(v) ?? ""}`,
        sources: [...new Set(v.records.map((r) => r.source))],
        times: v.records.map((r) => r.stored_at),
      };
      info.set(id, i);
      cy.getElementById(id).data("label", i.label);
      for (const s of i.sources) {
        if (![...sourceSel.options].some((o) => o.value === s)) sourceSel.append(h("option", { value: s }, s));
      }
      renderList();
    } catch {
      /* the node keeps its id as label */
    }
  }

  function addLink(a: string, n: NeighbourLink): void {
    addEntity(n.entity);
    if (n.edges > 0) {
      const id = `s:${[a, n.entity].sort().join("-")}`;
      if (cy.getElementById(id).empty())
        cy.add({
          group: "edges",
          data: { id, source: a, target: n.entity, label: n.max_weight != null ? n.max_weight.toFixed(1) : "" },
          classes: "scored",
        });
    }
    for (const s of n.shared) {
      const iid = `i:${s}`;
      if (cy.getElementById(iid).empty()) cy.add({ group: "nodes", data: { id: iid, label: s }, classes: "ident" });
      for (const e of [a, n.entity]) {
        const eid = `${iid}|${e}`;
        if (cy.getElementById(eid).empty()) cy.add({ group: "edges", data: { id: eid, source: e, target: iid } });
      }
    }
  }

  async function expand(id: string): Promise<void> {
    const offset = pages.get(id) ?? 0;
    if (pages.has(id) && offset >= (totals.get(id) ?? 0)) {
      mount(status, alertBox(`${id}: every neighbour is shown.`, "info"));
      return;
    }
    mount(status, h("span", { class: "muted" }, `Expanding ${id}…`));
    try {
      const page = await api.network(id, offset, PAGE);
      const visible = page.neighbours.filter(
        (n) => !inCase || [n.via_record, n.via_neighbour_record].every((k) => inCase.has(k.split(":")[0])),
      );
      cy.batch(() => {
        for (const n of visible) addLink(id, n);
        for (const hub of page.hubs) {
          const hid = `h:${hub.kind}:${hub.value}`;
          if (cy.getElementById(hid).empty())
            cy.add({ group: "nodes", data: { id: hid, label: `${hub.kind}:${hub.value}\n(${hub.records} records: hub, not followed)` }, classes: "hub" });
          const eid = `${hid}|${id}`;
          if (cy.getElementById(eid).empty()) cy.add({ group: "edges", data: { id: eid, source: id, target: hid } });
        }
        const next = page.offset + page.neighbours.length;
        pages.set(id, next);
        totals.set(id, page.total);
        const moreId = `more:${id}`;
        cy.getElementById(moreId).remove();
        if (next < page.total) {
          cy.add({ group: "nodes", data: { id: moreId, of: id, label: `${page.total - next} more…` }, classes: "more" });
          cy.add({ group: "edges", data: { id: `${moreId}|e`, source: id, target: moreId } });
        }
      });
      mount(
        status,
        h(
          "span",
          { role: "status" },
          `${id}: ${pages.get(id)} of ${page.total} neighbours shown${page.hubs.length ? `, ${page.hubs.length} hub identifier(s) not followed` : ""}${page.truncated ? " (the search was capped)" : ""}.`,
        ),
      );
      layout();
      renderList();
    } catch (x) {
      mount(status, alertBox((x as Error).message));
    }
  }

  async function shortestPath(target: string): Promise<void> {
    if (!target) {
      mount(status, alertBox("Give the id of the entity to reach, e.g. E123."));
      return;
    }
    try {
      const p = await api.path(root, target);
      cy.elements().removeClass("path");
      if (!p.found) {
        mount(status, alertBox(`No path from ${root} to ${target} within ${p.explored} entities explored${p.bounded ? " (the search was bounded)" : ""}.`, "info"));
        return;
      }
      cy.batch(() => {
        for (let i = 0; i < p.links.length; i++) addLink(p.entities[i], p.links[i]);
        for (const e of p.entities) addEntity(e);
      });
      for (let i = 0; i < p.entities.length; i++) {
        const a = p.entities[i];
        cy.getElementById(a).addClass("path");
        const b = p.entities[i + 1];
        if (!b) continue;
        const direct = cy.getElementById(`s:${[a, b].sort().join("-")}`);
        direct.addClass("path");
        for (const s of p.links[i]?.shared ?? []) {
          cy.getElementById(`i:${s}`).addClass("path");
          cy.getElementById(`i:${s}|${a}`).addClass("path");
          cy.getElementById(`i:${s}|${b}`).addClass("path");
        }
      }
      mount(status, h("span", { role: "status", "data-testid": "path" }, `Path of ${p.entities.length - 1} link(s): ${p.entities.join(" → ")}`));
      layout();
      renderList();
    } catch (x) {
      mount(status, alertBox((x as Error).message));
    }
  }

  function applyFilter(): void {
    const src = sourceSel.value;
    const lo = from.value;
    const hi = to.value ? `${to.value}~` : "";
    cy.nodes("node.entity").forEach((n: NodeSingular) => {
      const i = info.get(n.id());
      const okSource = !src || (i?.sources.includes(src) ?? false);
      const okTime = (!lo && !hi) || (i?.times.some((t) => (!lo || t >= lo) && (!hi || t <= hi)) ?? false);
      n.toggleClass("filtered", !(okSource && okTime));
    });
    const shown = cy.nodes("node.entity").not(".filtered").length;
    mount(status, h("span", { role: "status" }, `${shown} of ${cy.nodes("node.entity").length} entities match the filter.`));
  }

  function layout(): void {
    cy.layout({ name: "fcose", animate: false, randomize: true, nodeRepulsion: 9000, idealEdgeLength: 80 } as cytoscape.LayoutOptions).run();
  }

  function renderList(): void {
    mount(
      nodeList,
      cy.nodes("node.entity").map((n) => {
        const id = n.id();
        const i = info.get(id);
        const shown = pages.get(id);
        return h(
          "li",
          {},
          h(
            "button",
            { type: "button", onclick: () => void expand(id), "aria-label": `Expand ${id}` },
            shown === undefined ? "Expand" : (totals.get(id) ?? 0) > shown ? "More" : "Expanded",
          ),
          " ",
          link(`/entity/${id}`, i?.label.replace("\n", " ") ?? id),
        );
      }),
    );
  }

  function exportPng(): void {
    const blob = cy.png({ output: "blob", full: true, bg: "#ffffff", scale: 2 }) as unknown as Blob;
    save(`network-${root}.png`, blob);
  }

  addEntity(root, "entity root");
  await expand(root);
}

function download(name: string, type: string, text: string): void {
  save(name, new Blob([text], { type }));
}

function save(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function xml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The graph as GraphML: node kind and label, edge kind. */
export function graphml(cy: Core): string {
  const nodes = cy
    .nodes()
    .map(
      (n) =>
        `    <node id="${xml(n.id())}"><data key="label">${xml(String(n.data("label") ?? ""))}</data><data key="kind">${xml(n.classes().filter((c) => c !== "path" && c !== "filtered").join(" "))}</data></node>`,
    );
  const edges = cy
    .edges()
    .map(
      (e) =>
        `    <edge id="${xml(e.id())}" source="${xml(e.source().id())}" target="${xml(e.target().id())}"><data key="kind">${e.hasClass("scored") ? "scored link" : "shares"}</data></edge>`,
    );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">',
    '  <key id="label" for="node" attr.name="label" attr.type="string"/>',
    '  <key id="kind" for="all" attr.name="kind" attr.type="string"/>',
    '  <graph id="spirit" edgedefault="undirected">',
    ...nodes,
    ...edges,
    "  </graph>",
    "</graphml>",
    "",
  ].join("\n");
}

