//! `spirit extract` through the real binary: identifiers in an HTML page, with byte offsets
//! into the page itself, validated (a broken checksum is not reported), cards masked.

use std::process::Command;

fn spirit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spirit"))
        .args(args)
        .output()
        .expect("spirit runs")
}

#[test]
fn identifiers_in_a_page_come_with_offsets_into_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("listing.html");
    let html = "<html><head><script>var x = 'nobody@example.com';</script></head><body>\
        <p>Vendor <b>nightjar</b>: write to night.jar [at] protonmail [dot] com</p>\
        <p>BTC 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa, old 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb</p>\
        <p>IBAN GB82 WEST 1234 5698 7654 32 &mdash; card 4111 1111 1111 1111</p></body></html>";
    std::fs::write(&page, html).unwrap();
    let out = spirit(&["extract", "--json", &page.display().to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |kind: &str| -> Vec<&serde_json::Value> {
        found.iter().filter(|f| f["kind"] == kind).collect()
    };
    // Offsets are bytes of the page: the raw text sits exactly there.
    for f in &found {
        let (s, e) = (
            f["start"].as_u64().unwrap() as usize,
            f["end"].as_u64().unwrap() as usize,
        );
        assert!(s < e && e <= html.len(), "{f}");
        if f["kind"] != "card" {
            assert_eq!(&html[s..e], f["raw"].as_str().unwrap(), "{f}");
        }
    }
    let emails = of("email");
    assert_eq!(emails.len(), 1, "scripts are dropped: {found:?}");
    assert_eq!(emails[0]["value"], "night.jar@protonmail.com");
    let btc = of("bitcoin");
    assert_eq!(btc.len(), 1, "the broken checksum is not reported: {btc:?}");
    assert_eq!(btc[0]["value"], "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
    assert_eq!(of("iban")[0]["value"], "GB82WEST12345698765432");
    let card = of("card");
    assert_eq!(card.len(), 1);
    let shown = card[0].to_string();
    assert!(
        !shown.contains("4111111111111111") && !shown.contains("4111 1111 1111 1111"),
        "{shown}"
    );

    let missing = spirit(&[
        "extract",
        &dir.path().join("nope.html").display().to_string(),
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.html"));
}
