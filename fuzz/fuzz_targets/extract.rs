//! `Extractor::extract_bytes`: identifiers in a page or text file, as `spirit extract` and
//! the folder ingest's pages read them (HTML through html5ever's tokenizer, offsets mapped
//! back to the input). The first byte picks the format (auto, text, HTML) the way the CLI's
//! `--format` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spirit_text::extract::{Extractor, Format};

thread_local! {
    static EXTRACTOR: Extractor = Extractor::new("GB");
}

fuzz_target!(|data: &[u8]| EXTRACTOR.with(|extractor| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let format = match first % 3 {
        0 => Format::Auto,
        1 => Format::Text,
        _ => Format::Html,
    };
    for f in extractor.extract_bytes(rest, format) {
        assert!(
            f.start <= f.end && f.end <= rest.len(),
            "finding {f:?} outside the input"
        );
    }
}));
