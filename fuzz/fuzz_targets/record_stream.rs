//! A stream of records as `spirit add` reads standard input and the server reads an upload
//! (`POST /api/sources/{source}/records`): `spirit_sources::read_rows`, then each row
//! through `RowMapper::map`, the store's `Normaliser::normalise` and the card masking of
//! the stored payload (`spirit_store::stream`, `spirit_store::ingest`). The first byte
//! picks the format (even: JSON Lines, odd: CSV with a header).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use spirit_matching::Settings;
use spirit_sources::{RowMapper, StreamFormat, read_rows};
use spirit_store::ingest::Normaliser;

thread_local! {
    // Built once, as the server builds them once for all its uploads.
    static SETUP: (Settings, Normaliser) = {
        let settings = Settings::default();
        let normaliser = Normaliser::new(&settings, [7; 32]);
        (settings, normaliser)
    };
}

fuzz_target!(|data: &[u8]| SETUP.with(|(settings, normaliser)| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let format = if first % 2 == 0 {
        StreamFormat::JsonLines
    } else {
        StreamFormat::Csv
    };
    let mut mapper = RowMapper::new(&settings.input, None, Path::new("<fuzz>"));
    read_rows(rest, format, |row| {
        if let Ok(row) = row
            && let Ok(mapped) = mapper.map(&row.fields)
        {
            let _ = normaliser.normalise(&mapped.values);
            let _ = spirit_sources::mask::mask_card_values(&row.payload, &mapped.values);
        }
        true
    });
}));
