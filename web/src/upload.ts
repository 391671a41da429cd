// Adding records to a source of the case: the upload's progress, then the server's
// storing and resolving, then what happened, in words.
import { current, explain } from "./api";
import { alertBox, h, mount } from "./dom";
import { resetSources, sources } from "./scope";

interface IngestResult {
  source: string;
  read: number;
  stored: number;
  already_stored: number;
  problems: string[];
}

export async function uploadScreen(main: HTMLElement): Promise<void> {
  const s = current()!;
  const mine = (await sources()).filter((x) => !s.case || x.case === s.case);
  const source = h("select", { id: "u-source", required: true }, mine.map((x) => h("option", { value: x.name }, `${x.name} (${x.records} records)`)));
  const file = h("input", { id: "u-file", type: "file", accept: ".csv,.jsonl,.ndjson,text/csv,application/x-ndjson", required: true });
  const progress = h("progress", { id: "u-progress", max: 100, value: 0 });
  const label = h("label", { for: "u-progress" }, "Progress");
  const status = h("div", { "aria-live": "polite", "data-testid": "upload-status" });
  const form = h(
    "form",
    {
      class: "card narrow",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const f = file.files?.[0];
        if (!f) {
          mount(status, alertBox("Choose a CSV or JSON Lines file."));
          return;
        }
        const csv = /\.csv$/i.test(f.name) || f.type === "text/csv";
        const xhr = new XMLHttpRequest();
        xhr.open("POST", `/api/sources/${encodeURIComponent(source.value)}/records?format=${csv ? "csv" : "jsonl"}`);
        xhr.setRequestHeader("x-csrf-token", s.csrf);
        xhr.setRequestHeader("x-purpose", `${s.purpose ?? ""} [case ${s.case ?? ""}]`);
        xhr.setRequestHeader("content-type", csv ? "text/csv" : "application/x-ndjson");
        xhr.upload.onprogress = (p) => {
          if (p.lengthComputable) progress.value = Math.round((p.loaded / p.total) * 100);
          mount(status, h("span", { class: "muted" }, `Sending… ${progress.value}%`));
        };
        xhr.upload.onload = () => {
          progress.removeAttribute("value"); // indeterminate while the server works
          mount(status, h("span", { class: "muted" }, "Sent. The server is storing and resolving the records…"));
        };
        xhr.onerror = () => mount(status, alertBox(explain(0, "network", "")));
        xhr.onload = () => {
          progress.value = 100;
          let body: { error?: string; message?: string } & Partial<IngestResult> = {};
          try {
            body = JSON.parse(xhr.responseText);
          } catch {
            /* not JSON */
          }
          if (xhr.status !== 200) {
            mount(status, alertBox(explain(xhr.status, body.error ?? "http", body.message ?? "")));
            return;
          }
          const r = body as IngestResult;
          resetSources(); // the counts changed
          mount(
            status,
            alertBox(
              `${r.read} read, ${r.stored} stored, ${r.already_stored} already there in ${r.source}. They are resolved into entities.`,
              r.problems.length ? "info" : "ok",
            ),
            r.problems.length ? h("ul", {}, r.problems.map((p) => h("li", {}, p))) : null,
          );
        };
        xhr.send(f);
      },
    },
    h("h1", {}, "Add records"),
    h("p", {}, "A CSV file with a header row, or JSON Lines. Nothing is stored unless every line can be read."),
    h("label", { for: "u-source" }, "Source"),
    source,
    h("label", { for: "u-file" }, "File"),
    file,
    h("button", { type: "submit" }, "Upload"),
    label,
    progress,
    status,
  );
  mount(main, form);
}
