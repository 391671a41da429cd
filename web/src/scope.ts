// The session's case: results are kept to the sources of the chosen case. The list of
// sources is read once per session (it counts records, which takes a while on a large
// workspace) and kept in sessionStorage with the session.
import { api, current, type SourceInfo } from "./api";

const KEY = "spirit.sources";
let cache: SourceInfo[] | null = null;

export function resetSources(): void {
  cache = null;
  sessionStorage.removeItem(KEY);
}

/** The sources of the user's cases. */
export async function sources(): Promise<SourceInfo[]> {
  if (!cache) {
    const kept = sessionStorage.getItem(KEY);
    if (kept) {
      try {
        cache = JSON.parse(kept) as SourceInfo[];
      } catch {
        cache = null;
      }
    }
  }
  if (!cache) {
    cache = await api.sources();
    sessionStorage.setItem(KEY, JSON.stringify(cache));
  }
  return cache;
}

/** Source names in the session's case (null: every case of the user). */
export async function caseSources(): Promise<Set<string> | null> {
  const s = current();
  if (!s?.case) return null;
  return new Set((await sources()).filter((x) => x.case === s.case).map((x) => x.name));
}
