//! An upload of encodings to the linkage unit (`PUT /v1/projects/{project}/encodings` in
//! spirit-pprl-unit, which reads the body with `spirit_pprl::jsonl::read_encodings` and
//! checks its description against the other parties' with `EncodingMeta::check_compatible`),
//! and the same reading of the other party's file by `spirit pprl link`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use spirit_pprl::EncodingMeta;
use spirit_pprl::jsonl::read_encodings;

/// Another party's description, as the unit keeps it from its upload.
const OTHER_PARTY: &str = r#"{"spirit_pprl":{"bits":1024,"format":"spirit-pprl/1","hardened":true,"key_check":"5d80816b33330e49","layout":"record","schema_fingerprint":"36d2c4baf3ccbb67","segments":[{"bits":1024,"kind":null,"offset":0}]}}"#;

static OTHER: LazyLock<EncodingMeta> = LazyLock::new(|| {
    read_encodings(OTHER_PARTY.as_bytes())
        .expect("the other party's header reads")
        .meta
});

fuzz_target!(|data: &[u8]| {
    if let Ok(table) = read_encodings(data) {
        assert_eq!(table.filters.len(), table.ids.len());
        let _ = table.meta.check_compatible(&OTHER);
    }
});
