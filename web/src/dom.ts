// A few lines instead of a framework: elements are built with `h`, text is always set as
// text (never as HTML), so nothing from a record can run as markup.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") {
      el.addEventListener(k.replace(/^on/, ""), v as EventListener);
    } else if (k === "class") {
      el.className = String(v);
    } else if (v === true) {
      el.setAttribute(k, "");
    } else {
      el.setAttribute(k, String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces the content of `el`. */
export function mount(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** A message in words, announced to screen readers. */
export function alertBox(message: string, kind: "error" | "info" | "ok" = "error"): HTMLElement {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
}

export function fmtProb(p: number): string {
  if (p >= 0.9999) return ">99.99%";
  if (p <= 0.0001) return "<0.01%";
  return `${(p * 100).toFixed(2)}%`;
}

export function fmtWeight(w: number): string {
  return `${w >= 0 ? "+" : "−"}${Math.abs(w).toFixed(2)}`;
}

/** The attribute kinds shown first, in this order. */
export const KIND_ORDER = [
  "given_name",
  "surname",
  "full_name",
  "date_of_birth",
  "email",
  "phone",
  "username",
  "wallet",
  "address",
  "city",
  "postcode",
];

export function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i < 0 ? KIND_ORDER.length : i;
}

export function label(kind: string): string {
  return kind.replace(/_/g, " ");
}

/** A person's name from attributes, or null. */
export function nameOf(attrs: { kind: string; raw: string }[]): string | null {
  const get = (k: string) => attrs.find((a) => a.kind === k)?.raw;
  const full = get("full_name") ?? get("name");
  if (full) return full;
  const parts = [get("given_name"), get("surname")].filter(Boolean);
  return parts.length ? parts.join(" ") : null;
}
