//! `spirit extract`: identifiers found in a page or text file, with byte offsets.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use spirit_text::extract::{Extractor, Format, looks_like_html};

#[derive(clap::Args)]
pub struct ExtractArgs {
    /// The file to read (HTML or plain text); `-` reads standard input.
    pub input: PathBuf,
    /// One JSON object per line (kind, value, start, end, raw) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Region for national phone numbers (ISO 3166 alpha-2).
    #[arg(long, default_value = "GB")]
    pub region: String,
    /// Read as HTML or text; by default HTML is detected from the extension or the content.
    #[arg(long, value_parser = ["auto", "html", "text"], default_value = "auto")]
    pub format: String,
}

pub fn run(args: &ExtractArgs) -> Result<()> {
    let bytes = if args.input.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b).context("reading stdin")?;
        b
    } else {
        std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?
    };
    let format = match args.format.as_str() {
        "html" => Format::Html,
        "text" => Format::Text,
        _ => {
            let ext = args
                .input
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            match ext.as_deref() {
                Some("html" | "htm" | "xhtml" | "shtml") => Format::Html,
                Some("txt" | "text" | "log" | "md" | "csv") => Format::Text,
                _ if looks_like_html(&bytes) => Format::Html,
                _ => Format::Text,
            }
        }
    };
    let found = Extractor::new(&args.region).extract_bytes(&bytes, format);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        for f in &found {
            serde_json::to_writer(&mut out, f)?;
            writeln!(out)?;
        }
    } else {
        writeln!(
            out,
            "{:<16} {:>10} {:>10}  {:<44}  raw",
            "kind", "start", "end", "value"
        )?;
        for f in &found {
            let raw: String = f
                .raw
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(60)
                .collect();
            writeln!(
                out,
                "{:<16} {:>10} {:>10}  {:<44}  {}",
                f.kind.as_str(),
                f.start,
                f.end,
                f.value,
                raw
            )?;
        }
        writeln!(
            out,
            "{} found (offsets are bytes into the {} input)",
            found.len(),
            if format == Format::Html {
                "HTML"
            } else {
                "text"
            }
        )?;
    }
    out.flush()?;
    Ok(())
}
