// Navigation inside the single-page app (history API; the server answers every UI path
// with index.html).
import { h } from "./dom";

let router: () => void = () => {};

export function setRouter(f: () => void): void {
  router = f;
}

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  router();
}

export function link(href: string, ...text: (string | Node)[]): HTMLAnchorElement {
  return h("a", { href, "data-link": true }, ...text);
}
