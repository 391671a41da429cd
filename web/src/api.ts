// The REST API as the UI uses it: the session cookie (set by /api/login) authenticates,
// the CSRF token from the login goes with every change, and every read of personal data
// carries the session's purpose (X-Purpose), which the server writes to the audit log.

export interface Attribute {
  kind: string;
  raw: string;
  value: string | null;
}
export interface RecordView {
  key: string;
  source: string;
  record_id: string;
  payload: string;
  provenance: string;
  stored_at: string;
  attributes: Attribute[];
  entity: string | null;
}
export interface Judgement {
  id: number;
  left: string;
  right: string;
  verdict: string;
  author: string;
  reason: string;
  at: string;
  in_force: boolean;
}
export interface EntityView {
  entity: string;
  created_at: string;
  retired_at: string | null;
  retired_into: string | null;
  records: RecordView[];
  attributes: { kind: string; values: { value: string; records: number }[] }[];
  edges: { left: string; right: string; weight: number; probability: number }[];
  edge_count: number;
  judgements: Judgement[];
}
export interface Edge {
  left: string;
  right: string;
  weight: number;
  probability: number;
  prior_weight: number;
  partials: { comparison: string; weight: number }[];
  adjustment: number;
  /** Shown, not counted: writing style unless the settings let it link. */
  advisory?: { comparison: string; level: string; weight: number; calibration: string | null }[];
}
export interface EdgePage {
  entity: string;
  total: number;
  offset: number;
  edges: Edge[];
}
export interface SearchHit {
  record: string;
  entity: string | null;
  score: number;
  matched: { token: string; term: string }[];
  attributes: Attribute[];
  sources: { source: string; records: number }[];
}
export interface NeighbourLink {
  entity: string;
  edges: number;
  max_weight: number | null;
  shared: string[];
  via_record: string;
  via_neighbour_record: string;
}
export interface NetworkPage {
  entity: string;
  total: number;
  offset: number;
  neighbours: NeighbourLink[];
  hubs: { kind: string; value: string; records: number }[];
  truncated: boolean;
}
export interface PathResult {
  from: string;
  to: string;
  found: boolean;
  entities: string[];
  links: NeighbourLink[];
  explored: number;
  bounded: boolean;
}
export interface JudgeResult {
  judgement: number;
  verdict: string;
  left: string;
  right: string;
  left_entity: string | null;
  right_entity: string | null;
  changes: { created: number; merged: number; split: number; retired: number; moved: number };
}
/** One event of an entity's history (GET /api/entities/{id}/history). */
export interface HistoryEvent {
  id: number;
  at: string;
  run: number | null;
  kind: string;
  entity: string;
  other: string | null;
  record: string | null;
  detail: Record<string, unknown> | null;
}
export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  case: string | null;
  purpose: string | null;
  action: string;
  target: string | null;
  outcome: string;
  detail: unknown;
  hash: string;
}
export interface AuditVerification {
  ok: boolean;
  entries: number;
  head: number;
  problems: { seq: number; message: string }[];
}
export interface Me {
  user: string;
  role: string;
  cases: string[];
}
export interface SourceInfo {
  name: string;
  case: string | null;
  legal_basis: string | null;
  retention_days: number | null;
  created_at: string;
  records: number;
}

/** What the session remembers (sessionStorage: gone when the tab closes). */
export interface Session {
  user: string;
  role: string;
  csrf: string;
  case: string | null;
  purpose: string | null;
}

const KEY = "spirit.session";

export function loadSession(): Session | null {
  try {
    const text = sessionStorage.getItem(KEY);
    return text ? (JSON.parse(text) as Session) : null;
  } catch {
    return null;
  }
}

export function saveSession(s: Session | null): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

/** An API failure, with a message a person understands. */
export class ApiFailure extends Error {
  constructor(
    public status: number,
    public code: string,
    public detail: string,
  ) {
    super(explain(status, code, detail));
  }
}

/** Turns the server's error codes into plain words. */
export function explain(status: number, code: string, detail: string): string {
  switch (code) {
    case "unauthenticated":
      return /password/.test(detail)
        ? "The user name or password is wrong."
        : "Your session has ended. Please sign in again.";
    case "forbidden":
      return `You are not allowed to do this with your role or cases. (${detail})`;
    case "csrf_required":
      return "Your session is out of date. Please sign in again.";
    case "not_found":
      return "Nothing was found: it does not exist, or it is not in your cases.";
    case "purpose_required":
      return "Every look at personal data needs a purpose. Please state the purpose of your session.";
    case "conflict":
      return `This contradicts what is already recorded: ${detail}`;
    case "busy":
      return "Someone else is changing the workspace right now. Please try again in a moment.";
    case "bad_request":
      return `The request could not be understood: ${detail}`;
    case "payload_too_large":
      return "That is larger than the server accepts.";
    case "internal":
      return "Something went wrong on the server. The server's log says why; please tell an administrator.";
    case "network":
      return "The server cannot be reached. Check that `spirit serve` is running.";
    default:
      return `The server answered ${status}: ${detail || code}`;
  }
}

let session: Session | null = loadSession();
let onSignedOut: () => void = () => {};

export function current(): Session | null {
  return session;
}

export function setSession(s: Session | null): void {
  session = s;
  saveSession(s);
}

export function whenSignedOut(f: () => void): void {
  onSignedOut = f;
}

async function call<T>(method: string, path: string, body?: unknown, purpose = true): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && session) headers["x-csrf-token"] = session.csrf;
  if (purpose && session?.purpose) {
    headers["x-purpose"] = session.case
      ? `${session.purpose} [case ${session.case}]`
      : session.purpose;
  }
  let resp: Response;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiFailure(0, "network", "");
  }
  const text = await resp.text();
  let value: unknown = null;
  try {
    value = text ? JSON.parse(text) : null;
  } catch {
    value = null;
  }
  if (!resp.ok) {
    const v = (value ?? {}) as { error?: string; message?: string };
    const failure = new ApiFailure(resp.status, v.error ?? "http", v.message ?? text.slice(0, 200));
    if (resp.status === 401 && path !== "/api/login" && path !== "/api/password") {
      setSession(null);
      onSignedOut();
    }
    throw failure;
  }
  return value as T;
}

const enc = encodeURIComponent;

export const api = {
  login: (user: string, password: string) =>
    call<{ user: string; role: string; csrf_token: string; must_change_password: boolean }>(
      "POST",
      "/api/login",
      { user, password },
      false,
    ),
  changePassword: (current: string, next: string) =>
    call<{ changed: boolean }>("POST", "/api/password", { current, new: next }, false),
  logout: () => call<{ changed: boolean }>("POST", "/api/logout", undefined, false),
  me: () => call<Me>("GET", "/api/me", undefined, false),
  sources: () => call<SourceInfo[]>("GET", "/api/sources", undefined, false),
  search: (q: string, limit = 20) => call<{ query: string; hits: SearchHit[] }>("GET", `/api/search?q=${enc(q)}&limit=${limit}`),
  entity: (id: string) => call<EntityView>("GET", `/api/entities/${enc(id)}`),
  edges: (id: string, offset = 0, limit = 20) =>
    call<EdgePage>("GET", `/api/entities/${enc(id)}/edges?offset=${offset}&limit=${limit}`),
  history: (id: string) => call<{ entity: string; events: HistoryEvent[] }>("GET", `/api/entities/${enc(id)}/history`),
  network: (id: string, offset = 0, limit = 25) =>
    call<NetworkPage>("GET", `/api/entities/${enc(id)}/network?offset=${offset}&limit=${limit}`),
  path: (from: string, to: string) => call<PathResult>("GET", `/api/path?from=${enc(from)}&to=${enc(to)}`),
  record: (key: string) => call<RecordView>("GET", `/api/records/${enc(key)}`),
  judge: (verdict: string, left: string, right: string, reason: string) =>
    call<JudgeResult>("POST", "/api/judgements", { verdict, left, right, reason }),
  split: (left: string, right: string, reason: string) =>
    call<JudgeResult>("POST", "/api/split", { left, right, reason }),
  merge: (left: string, right: string, reason: string) =>
    call<JudgeResult>("POST", "/api/merge", { left, right, reason }),
  audit: (params: { after?: number; actor?: string; action?: string; case?: string; limit?: number }) => {
    const q = Object.entries(params)
      .filter(([, v]) => v !== undefined && v !== "")
      .map(([k, v]) => `${k}=${enc(String(v))}`)
      .join("&");
    return call<AuditEntry[]>("GET", `/api/audit${q ? `?${q}` : ""}`, undefined, false);
  },
  verify: () => call<AuditVerification>("GET", "/api/audit/verify", undefined, false),
};
