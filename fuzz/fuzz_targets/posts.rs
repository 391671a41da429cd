//! JSON Lines of forum posts, listings and chat messages as `spirit ingest --posts` reads
//! them (`spirit_store::posts::ingest_posts`, without the database): each line through
//! `parse_post`, its body through `body_format` and `find_mentions` (identifier extraction,
//! text or HTML, then the normaliser), the card masking of the stored body, and the
//! account's writing-style profile (`spirit_store::style::rebuild`: the visible text of
//! HTML bodies, `timestamp_seconds`, `ProfileBuilder`), whose serialised form must read
//! back.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use spirit_matching::Settings;
use spirit_store::ingest::Normaliser;
use spirit_store::posts::{body_format, find_mentions, parse_post};
use spirit_text::extract::{Extractor, Format};
use spirit_text::style::{Profile, ProfileBuilder};

thread_local! {
    // Built once, as one ingest run builds them once for all its posts.
    static SETUP: (Normaliser, Extractor) = {
        let settings = Settings::default();
        let extractor = Extractor::new(&settings.normalise.default_region);
        (Normaliser::new(&settings, [7; 32]), extractor)
    };
}

fuzz_target!(|data: &[u8]| SETUP.with(|(normaliser, extractor)| {
    let mut invalid = BTreeMap::new();
    let mut builder = ProfileBuilder::new();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        let line = String::from_utf8_lossy(line);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Ok(post) = parse_post(line) else {
            continue;
        };
        let format = body_format(&post);
        let document = format!("<fuzz>:{}", i + 1);
        let (findings, _mentions) = find_mentions(
            extractor,
            normaliser,
            post.body.as_bytes(),
            format,
            &document,
            &mut invalid,
        );
        let mut body = post.body.as_bytes().to_vec();
        spirit_sources::mask::mask_card_spans(&mut body, &findings);
        match format {
            Format::Html => builder.add_text(&spirit_text::extract::visible_text(&post.body)),
            _ => builder.add_text(&post.body),
        }
        if let Some(t) = post
            .timestamp
            .as_deref()
            .and_then(spirit_store::style::timestamp_seconds)
        {
            builder.add_timestamp(t);
        }
    }
    let profile = builder.finish();
    if profile.words() > 0 {
        let text = profile.to_serialised();
        if let Err(e) = Profile::parse(&text) {
            panic!("a built profile does not read back: {e}");
        }
    }
}));
