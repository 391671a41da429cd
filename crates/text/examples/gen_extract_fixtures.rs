//! Writes the labelled fixture set for identifier extraction:
//! `cargo run -p spirit-text --example gen_extract_fixtures > crates/text/tests/fixtures/extract/labelled.jsonl`
//!
//! Valid identifiers are generated with their checksums (deterministic seed) next to public
//! test vectors (BIP-173/350, EIP-55, IBAN registry examples, card-scheme test numbers), in
//! real-world formats and obfuscations, mixed with near misses (broken checksums, version
//! numbers, file names, timestamps, random hex) that must not be reported. Each line is
//! `{"text": …, "html": bool, "expected": [{"kind": …, "value": …}]}`.

use serde_json::json;
use sha1::{Digest, Sha1};
use spirit_text::extract::checks;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        for x in &mut b {
            *x = self.next() as u8;
        }
        b
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

struct Out {
    lines: Vec<serde_json::Value>,
}
impl Out {
    fn add(&mut self, text: &str, expected: &[(&str, &str)]) {
        self.push(text, false, expected);
    }
    fn push(&mut self, text: &str, html: bool, expected: &[(&str, &str)]) {
        let exp: Vec<_> = expected
            .iter()
            .map(|(k, v)| json!({"kind": k, "value": v}))
            .collect();
        self.lines
            .push(json!({"text": text, "html": html, "expected": exp}));
    }
}

fn base58check(version: u8, payload: &[u8]) -> String {
    let mut v = vec![version];
    v.extend_from_slice(payload);
    let sum = checks::sha256d(&v);
    v.extend_from_slice(&sum[..4]);
    checks::base58_encode(&v)
}

fn monero(net: u8, extra: usize, rng: &mut Rng) -> String {
    let mut data = vec![net];
    for _ in 0..64 + extra {
        data.push(rng.next() as u8);
    }
    let sum = checks::keccak256(&data);
    data.extend_from_slice(&sum[..4]);
    checks::monero_base58_encode(&data)
}

fn iban(country: &str, bban: &str) -> String {
    let probe = format!("{country}00{bban}");
    let r = checks::iban_mod97(probe.as_bytes()).expect("alnum");
    format!("{country}{:02}{bban}", 98 - r)
}

fn spaced4(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

fn mask(d: &str) -> String {
    spirit_text::extract::mask_digits(d)
}

fn luhn_complete(prefix: &str, len: usize, rng: &mut Rng) -> String {
    let mut s = prefix.to_string();
    while s.len() < len - 1 {
        s.push(char::from(b'0' + rng.below(10) as u8));
    }
    for d in 0..10u8 {
        let c = format!("{s}{}", char::from(b'0' + d));
        if checks::luhn(c.as_bytes()) {
            return c;
        }
    }
    unreachable!()
}

fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_graphic() {
                char::from_u32(c as u32 + 0xFEE0).unwrap()
            } else {
                c
            }
        })
        .collect()
}

fn pgp_armor(rng: &mut Rng, corrupt: bool) -> (String, String) {
    // A v4 RSA public-key packet (old-format header, two-byte length) and a user id packet.
    let mut body = vec![4u8];
    body.extend_from_slice(&(1_600_000_000u32 + rng.below(100_000_000) as u32).to_be_bytes());
    body.push(1);
    body.extend_from_slice(&2048u16.to_be_bytes());
    let mut n = [0u8; 256];
    for x in &mut n {
        *x = rng.next() as u8;
    }
    n[0] |= 0x80;
    body.extend_from_slice(&n);
    body.extend_from_slice(&[0, 17, 1, 0, 1]);
    let mut h = Sha1::new();
    h.update([0x99]);
    h.update((body.len() as u16).to_be_bytes());
    h.update(&body);
    let fp = checks::hex(&h.finalize()).to_ascii_uppercase();
    let mut packets = vec![0x99];
    packets.extend_from_slice(&(body.len() as u16).to_be_bytes());
    packets.extend_from_slice(&body);
    let uid = b"Test Key <test@example.org>";
    packets.push(0xb4);
    packets.push(uid.len() as u8);
    packets.extend_from_slice(uid);
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&packets);
    let mut crc = checks::crc24(&packets);
    if corrupt {
        crc ^= 1;
    }
    let crc = base64::engine::general_purpose::STANDARD.encode(&crc.to_be_bytes()[1..]);
    let mut s = String::from("-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: test key\n\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap());
        s.push('\n');
    }
    s.push('=');
    s.push_str(&crc);
    s.push_str("\n-----END PGP PUBLIC KEY BLOCK-----");
    (s, fp)
}

fn phone_ok(e164: &str) {
    let n = phonenumber::parse(None, e164).expect("parses");
    assert!(
        phonenumber::is_valid(&n),
        "fixture phone {e164} must be valid"
    );
}

fn main() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut o = Out { lines: Vec::new() };
    let fillers = [
        "Seen on the forum:",
        "Contact details recovered from the seized phone:",
        "Per the informant,",
        "Listing text reads",
        "Payment instructions:",
        "In the chat log at 2024-03-14 22:17:05 the user wrote",
        "Notes (v2.3.1):",
        "Screenshot OCR:",
        "Ref INC-20240117-0042:",
        "Translated message:",
    ];

    // ---- e-mail -----------------------------------------------------------------
    let names = [
        "john.smith",
        "j.doe",
        "darkseller",
        "m_kowalski",
        "anna-lee",
        "trader77",
        "x.y.z",
        "info",
        "sales",
        "k1ng",
    ];
    let domains = [
        "example.com",
        "example.org",
        "mail.example.co.uk",
        "gmail.com",
        "protonmail.com",
        "yandex.ru",
        "web.de",
        "example.net",
        "outlook.com",
        "example.io",
    ];
    for i in 0..40 {
        let n = names[i % names.len()];
        let d = domains[(i * 7 + 3) % domains.len()];
        let v = format!("{n}@{d}");
        let f = rng.pick(&fillers).to_string();
        let (text, exp) = match i % 10 {
            0 => (format!("{f} {v}"), v.clone()),
            1 => (format!("{f} <{}>", v.to_uppercase()), v.clone()),
            2 => {
                let (a, b) = d.rsplit_once('.').unwrap();
                (format!("{f} {n} [at] {a} [dot] {b}"), v.clone())
            }
            3 => {
                let (a, b) = d.rsplit_once('.').unwrap();
                (format!("{f} {n}(at){a}(dot){b}"), v.clone())
            }
            4 => {
                let dd = d.replace('.', " dot ");
                (format!("email me: {n} at {dd}"), v.clone())
            }
            5 => (format!("{f} mailto:{v}?subject=hi"), v.clone()),
            6 => {
                let (a, b) = v.split_at(3);
                (format!("{f} {a}\u{200B}{b} (zero-width)"), v.clone())
            }
            7 => (format!("{f} {}", fullwidth(&v)), v.clone()),
            8 => (format!("{f} \"{v}\", and that's it."), v.clone()),
            _ => (
                format!("{f} {n} {{at}} {}", d.replace('.', " {dot} ")),
                v.clone(),
            ),
        };
        o.add(&text, &[("email", &exp)]);
    }
    // Spaced "at" forms with webmail domains, and near misses.
    o.add(
        "Reach her at jane.doe at gmail dot com after 6pm",
        &[("email", "jane.doe@gmail.com")],
    );
    o.add(
        "write to bob99 AT protonmail DOT com",
        &[("email", "bob99@protonmail.com")],
    );
    o.add("look at this dot com nonsense", &[]);
    o.add("We will meet at example dot com headquarters at noon", &[]);
    o.add("The party is at home dot and then the bar", &[]);
    o.add("user@localhost and root@server are not addresses", &[]);
    o.add("foo@bar, a@b.c and x@y.invalidtld are junk", &[]);
    o.add("price@25 each, 3@4.5 deal", &[]);

    // ---- jabber / xmpp ------------------------------------------------------------
    for (i, (u, d)) in [
        ("dealer", "jabber.ru"),
        ("ghost", "xmpp.jp"),
        ("vendor_1", "exploit.im"),
        ("anon", "jabber.ccc.de"),
        ("shop", "conversations.im"),
        ("z3r0", "thesecure.biz"),
        ("boss", "jabber.org"),
        ("courier", "404.city"),
        ("mule", "xmpp.is"),
        ("plug", "jabb.im"),
    ]
    .iter()
    .enumerate()
    {
        let v = format!("{u}@{d}");
        let text = match i % 3 {
            0 => format!("jabber: {v}"),
            1 => format!("add me xmpp:{v} for the list"),
            _ => format!("OTR only — {v}"),
        };
        o.add(&text, &[("jabber", &v)]);
    }
    o.add(
        "xmpp:ops@chat.example.org (self-hosted)",
        &[("jabber", "ops@chat.example.org")],
    );
    o.add(
        "jabber:drop@example.net is the backup",
        &[("jabber", "drop@example.net")],
    );

    // ---- phones -----------------------------------------------------------------
    let gb = [
        ("020 7946 0958", "+442079460958"),
        ("(020) 7946 0018", "+442079460018"),
        ("+44 (0)20 7946 0321", "+442079460321"),
        ("0044 20 7946 0777", "+442079460777"),
        ("07911 123456", "+447911123456"),
        ("07911-123-457", "+447911123457"),
        ("+447911123789", "+447911123789"),
        ("0161 496 0000", "+441614960000"),
        ("0113 496 0999", "+441134960999"),
        ("0117 496 0123", "+441174960123"),
        ("0131 496 0645", "+441314960645"),
        ("+44 117 496 0555", "+441174960555"),
        ("07911.123.321", "+447911123321"),
        ("0 7 9 1 1 1 2 3 1 1 1", "+447911123111"),
    ];
    let intl = [
        ("+1 415 555 2671", "+14155552671"),
        ("+1 (212) 555-0199", "+12125550199"),
        ("+49 30 901820", "+4930901820"),
        ("+33 1 42 68 53 00", "+33142685300"),
        ("+61 2 9374 4000", "+61293744000"),
        ("+7 495 123-45-67", "+74951234567"),
        ("+34 912 345 678", "+34912345678"),
        ("+39 06 6982 0000", "+390669820000"),
        ("0033 6 12 34 56 78", "+33612345678"),
        ("+31 20 123 4567", "+31201234567"),
        ("+86 10 6552 9988", "+861065529988"),
        ("+91 98765 43210", "+919876543210"),
    ];
    for (i, (w, v)) in gb.iter().chain(intl.iter()).enumerate() {
        phone_ok(v);
        let f = rng.pick(&fillers).to_string();
        let text = match i % 6 {
            0 => format!("{f} call {w} anytime"),
            1 => format!("Tel: {w}"),
            2 => format!("{f} mob {w}, ask for Dave"),
            3 => format!("WhatsApp {w} (24/7)"),
            4 => format!("phone={w};"),
            _ => format!("{f} {w}."),
        };
        o.add(&text, &[("phone", v)]);
    }
    o.add(
        "tel: ０７９１１ １２３２２２",
        &[("phone", "+447911123222")],
    );
    o.add(
        "call 0791\u{200B}1 123 333 now",
        &[("phone", "+447911123333")],
    );
    o.add(
        "<a href=\"tel:+447911123444\">Call</a>",
        &[("phone", "+447911123444")],
    );
    // Near misses for phones.
    for t in [
        "Order 12345678 shipped on 2024-01-31",
        "Timestamp 2024-01-31 10:30:00 UTC",
        "Dated 31/01/2024 and 01.02.2024",
        "Build 1.2.3.4.5 released",
        "Unix time 1706659200 in logs",
        "Invoice total £1,234,567.89",
        "Case ref 2023/000123/45",
        "Short code 0207 946 only",
        "ISBN 978-3-16-148410-0",
        "Serial 0000000000 test",
        "Coordinates 51.507351, -0.127758",
        "pi is 3.14159265358979",
    ] {
        o.add(t, &[]);
    }

    // ---- cards ------------------------------------------------------------------
    let test_cards = [
        "4111111111111111",
        "4012888888881881",
        "5555555555554444",
        "5105105105105100",
        "378282246310005",
        "371449635398431",
        "6011111111111117",
        "6011000990139424",
        "3530111333300000",
        "3566002020360505",
        "30569309025904",
        "38520000023237",
        "2223000048400011",
        "4000056655665556",
        "5200828282828210",
        "4242424242424242",
    ];
    let mut cards: Vec<String> = test_cards.iter().map(|s| s.to_string()).collect();
    for p in [
        "4", "51", "52", "53", "54", "55", "2221", "34", "37", "6011",
    ] {
        let len = match p {
            "34" | "37" => 15,
            _ => 16,
        };
        cards.push(luhn_complete(p, len, &mut rng));
    }
    for (i, c) in cards.iter().enumerate() {
        let w = match i % 6 {
            0 => c.clone(),
            1 => spaced4(c),
            2 => spaced4(c).replace(' ', "-"),
            3 => c
                .chars()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            4 => fullwidth(&spaced4(c)),
            _ => format!("{}\u{200B}{}", &c[..8], &c[8..]),
        };
        let f = rng.pick(&fillers).to_string();
        let text = match i % 3 {
            0 => format!("{f} card {w} exp 09/27 cvv 123"),
            1 => format!("CC: {w}"),
            _ => format!("{f} paid with {w}."),
        };
        o.add(&text, &[("card", &mask(c))]);
    }
    for t in [
        "card 4111111111111112 declined",         // Luhn fails
        "acct 1234567812345670 (no such scheme)", // Luhn ok, no issuer
        "ref 411111111111 (12 digits)",
        "tracking 9400111899223100012345",
        "card 5555 5555 5555 4445 invalid",
    ] {
        o.add(t, &[]);
    }

    // ---- IBAN -------------------------------------------------------------------
    let registry = [
        "GB82WEST12345698765432",
        "DE89370400440532013000",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "ES9121000418450200051332",
        "IT60X0542811101000000123456",
        "BE68539007547034",
        "CH9300762011623852957",
        "AT611904300234573201",
        "PL61109010140000071219812874",
        "SE4550000000058398257466",
        "NO9386011117947",
        "DK5000400440116243",
        "FI2112345600000785",
        "IE29AIBK93115212345678",
        "PT50000201231234567890154",
    ];
    let mut ibans: Vec<String> = registry.iter().map(|s| s.to_string()).collect();
    for (c, shape) in [
        ("GB", "AAAA99999999999999"),
        ("DE", "999999999999999999"),
        ("LT", "9999999999999999"),
        ("RO", "AAAA9999999999999999"),
        ("HR", "99999999999999999"),
        ("CZ", "99999999999999999999"),
        ("LU", "9999999999999999"),
        ("BG", "AAAA99999999999999"),
    ] {
        let bban: String = shape
            .chars()
            .map(|k| {
                if k == 'A' {
                    char::from(b'A' + rng.below(26) as u8)
                } else {
                    char::from(b'0' + rng.below(10) as u8)
                }
            })
            .collect();
        ibans.push(iban(c, &bban));
    }
    for (i, v) in ibans.iter().enumerate() {
        let w = if i % 2 == 0 { spaced4(v) } else { v.clone() };
        let f = rng.pick(&fillers).to_string();
        let text = match i % 3 {
            0 => format!("{f} IBAN: {w}"),
            1 => format!("send to {w} (ref LOT7)"),
            _ => format!("{f} account {w}, BIC ABCDGB2L"),
        };
        o.add(&text, &[("iban", v)]);
    }
    o.add("IBAN GB83WEST12345698765432 (typo)", &[]);
    o.add("IBAN DE89 3704 0044 0532 0130 01", &[]);
    o.add("GB82WEST1234569876543 is short", &[]);

    // ---- Bitcoin ----------------------------------------------------------------
    let mut btc: Vec<String> = vec![
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2".into(),
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy".into(),
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa".into(),
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4".into(),
        "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3".into(),
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0".into(),
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7".into(),
    ];
    for i in 0..24 {
        btc.push(match i % 4 {
            0 => base58check(0, &rng.bytes::<20>()),
            1 => base58check(5, &rng.bytes::<20>()),
            2 => checks::segwit_encode("bc", 0, &rng.bytes::<20>()),
            _ => checks::segwit_encode("bc", 1, &rng.bytes::<32>()),
        });
    }
    for (i, v) in btc.iter().enumerate() {
        let f = rng.pick(&fillers).to_string();
        let text = match i % 5 {
            0 => format!("{f} BTC: {v}"),
            1 => format!("send 0.05 btc to {v} then msg me"),
            2 => format!("bitcoin:{v}?amount=0.01"),
            3 => format!(
                "{f} wallet {} (uppercase QR)",
                if v.starts_with("bc1") {
                    v.to_uppercase()
                } else {
                    v.clone()
                }
            ),
            _ => format!("[{v}]"),
        };
        let value = if v.starts_with("bc1") || v.starts_with("tb1") {
            v.to_lowercase()
        } else {
            v.clone()
        };
        o.add(&text, &[("bitcoin", &value)]);
    }
    o.add("BTC 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3 (bad checksum)", &[]);
    o.add("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5 bad", &[]);
    o.add(
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh (v0 with bech32m)",
        &[],
    );
    o.add(
        "burn address 1111111111111111111114oLvT2 (valid)",
        &[("bitcoin", "1111111111111111111114oLvT2")],
    );
    o.add("burn 1111111111111111111114oLvT3 (checksum off)", &[]);

    // ---- Ethereum ---------------------------------------------------------------
    let mut eth: Vec<(String, String)> = [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ]
    .iter()
    .map(|s| (s.to_string(), s.to_lowercase()))
    .collect();
    for i in 0..26 {
        let low = checks::hex(&rng.bytes::<20>());
        let written = match i % 3 {
            0 => format!("0x{}", checks::eip55(&low)),
            1 => format!("0x{low}"),
            _ => format!("0x{}", low.to_uppercase()),
        };
        eth.push((written, format!("0x{low}")));
    }
    for (i, (w, v)) in eth.iter().enumerate() {
        let f = rng.pick(&fillers).to_string();
        let text = match i % 4 {
            0 => format!("{f} ETH {w}"),
            1 => format!("https://etherscan.io/address/{w}"),
            2 => format!("USDT (ERC20): {w}."),
            _ => format!("{f} send to {w} asap"),
        };
        if i % 4 == 1 {
            o.add(
                &text,
                &[
                    ("ethereum", v),
                    ("url", &format!("https://etherscan.io/address/{w}")),
                ],
            );
        } else {
            o.add(&text, &[("ethereum", v)]);
        }
    }
    o.add(
        "ETH 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD (case typo)",
        &[],
    );
    o.add(
        "tx 0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b",
        &[],
    );
    o.add("short 0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea", &[]);

    // ---- Monero -----------------------------------------------------------------
    let mut xmr: Vec<String> = vec![
        "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A".into(),
    ];
    for i in 0..24 {
        xmr.push(match i % 3 {
            0 => monero(18, 0, &mut rng),
            1 => monero(42, 0, &mut rng),
            _ => monero(19, 8, &mut rng),
        });
    }
    for (i, v) in xmr.iter().enumerate() {
        let f = rng.pick(&fillers).to_string();
        let text = match i % 3 {
            0 => format!("{f} XMR: {v}"),
            1 => format!("monero:{v}?tx_amount=1.5"),
            _ => format!("{f} only monero ({v}) accepted"),
        };
        o.add(&text, &[("monero", v)]);
    }
    let mut bad = xmr[1].clone().into_bytes();
    bad[50] = if bad[50] == b'a' { b'b' } else { b'a' };
    o.add(
        &format!("XMR {} (typo)", String::from_utf8(bad).unwrap()),
        &[],
    );

    // ---- onion ------------------------------------------------------------------
    let mut onions: Vec<String> =
        vec!["2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion".into()];
    for _ in 0..24 {
        onions.push(format!(
            "{}.onion",
            checks::onion_encode(&rng.bytes::<32>())
        ));
    }
    for (i, v) in onions.iter().enumerate() {
        let f = rng.pick(&fillers).to_string();
        match i % 4 {
            0 => o.add(&format!("{f} mirror {v}"), &[("onion", v)]),
            1 => o.add(
                &format!("{f} http://{v}/market/item?id=7"),
                &[
                    ("onion", v),
                    ("url", &format!("http://{v}/market/item?id=7")),
                ],
            ),
            2 => o.add(&format!("new link: {}", v.to_uppercase()), &[("onion", v)]),
            _ => o.add(&format!("{f} shop at {v}."), &[("onion", v)]),
        }
    }
    o.add("old v2 expyuzz4wqqyqhjn.onion is dead", &[]);
    let mut bad = onions[3].clone().into_bytes();
    bad[10] = if bad[10] == b'a' { b'b' } else { b'a' };
    o.add(&format!("typo {}", String::from_utf8(bad).unwrap()), &[]);

    // ---- PGP fingerprints and keys ---------------------------------------------
    for i in 0..24 {
        let fp = checks::hex(&rng.bytes::<20>()).to_uppercase();
        let text = match i % 4 {
            0 => format!(
                "Key fingerprint = {}",
                fp.as_bytes()
                    .chunks(4)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .enumerate()
                    .map(|(j, c)| if j == 5 {
                        format!(" {c}")
                    } else {
                        c.to_string()
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            1 => format!("my PGP fingerprint: {fp}"),
            2 => format!("gpg --recv-keys {}", fp.to_lowercase()),
            _ => format!("verify {} before ordering", spaced4(&fp)),
        };
        o.add(&text, &[("pgp_fingerprint", &fp)]);
    }
    o.add(
        "commit 3f786850e387550fdab836ed7e6dc881de23001b fixed the build",
        &[],
    );
    o.add(
        "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 of the empty file",
        &[],
    );
    for i in 0..12 {
        let (block, fp) = pgp_armor(&mut rng, false);
        let text = if i % 2 == 0 {
            format!("My key:\n{block}\nThanks")
        } else {
            block
        };
        o.add(&text, &[("pgp_key", &fp)]);
    }
    let (block, _) = pgp_armor(&mut rng, true);
    o.add(&format!("Damaged key:\n{block}"), &[]);

    // ---- IP addresses -----------------------------------------------------------
    for i in 0..28 {
        let ip = format!(
            "{}.{}.{}.{}",
            1 + rng.below(223),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        );
        let text = match i % 4 {
            0 => format!("connection from {ip} refused"),
            1 => format!("C2 server {ip}:8443"),
            2 => format!("logged in (IP: {ip})"),
            _ => format!("{ip} - - [10/Oct/2023:13:55:36 +0000] \"GET / HTTP/1.1\""),
        };
        o.add(&text, &[("ipv4", &ip)]);
    }
    for (w, v) in [
        ("2001:db8::1", "2001:db8::1"),
        (
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            "2001:db8:85a3::8a2e:370:7334",
        ),
        ("fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a"),
        ("::ffff:192.0.2.128", "::ffff:192.0.2.128"),
        ("2a00:1450:4009:81f::200e", "2a00:1450:4009:81f::200e"),
        ("2606:4700:4700::1111", "2606:4700:4700::1111"),
        ("2001:DB8:0:0:8:800:200C:417A", "2001:db8::8:800:200c:417a"),
        ("2620:fe::fe", "2620:fe::fe"),
    ] {
        o.add(&format!("peer {w} connected"), &[("ipv6", v)]);
        o.add(&format!("AAAA record: {w}"), &[("ipv6", v)]);
        o.add(&format!("ssh root@[{w}] failed"), &[("ipv6", v)]);
    }
    for t in [
        "Version 1.2.3.4.5 is out",
        "upgrade to v10.0.0.1 now",
        "address 256.1.2.3 is not valid",
        "at 12:30:45 and 23:59:59",
        "MAC 00:1a:2b:3c:4d:5e seen",
        "std::vector<int> and a::b",
        "ratio 1:2:3 mix",
    ] {
        o.add(t, &[]);
    }

    // ---- domains and URLs ---------------------------------------------------------
    let hosts = [
        "example.com",
        "example.org",
        "news.example.co.uk",
        "shop.example.de",
        "example.io",
        "cdn.example.net",
        "example.ru",
        "portal.example.fr",
        "EXAMPLE.COM",
        "example.xyz",
        "example.info",
        "files.example.nl",
    ];
    for (i, h) in hosts.iter().enumerate() {
        let v = h.to_lowercase();
        o.add(&format!("visit {h} for details"), &[("domain", &v)]);
        o.add(&format!("hosted on {h}, see logs"), &[("domain", &v)]);
        let path = ["/", "/login.php", "/a/b?c=d&e=f", "/index.html#top"][i % 4];
        let url = format!("https://{v}{path}");
        o.add(&format!("link: {url}"), &[("url", &url)]);
        o.add(&format!("({url})."), &[("url", &url)]);
    }
    o.add(
        "payload at hxxp://evil-example[.]com/drop.exe",
        &[("url", "http://evil-example.com/drop.exe")],
    );
    o.add(
        "defanged evil-example[.]net today",
        &[("domain", "evil-example.net")],
    );
    o.add(
        "go to www.example.com/page2 now",
        &[("url", "www.example.com/page2")],
    );
    o.add(
        "ftp://files.example.org/pub/x.tar.gz",
        &[("url", "ftp://files.example.org/pub/x.tar.gz")],
    );
    o.add(
        "see http://192.0.2.10/admin",
        &[("url", "http://192.0.2.10/admin")],
    );
    for t in [
        "open report.pdf and setup.py",
        "see main.rs, archive.zip and notes.txt",
        "e.g. this, i.e. that",
        "The end.Now we start",
        "index.html and config.json changed",
        "version 3.14 and 2.0.1",
        "node.js and vue.js apps",
        "file photo.jpg and clip.mov",
        "run build.sh then deploy.ps",
    ] {
        o.add(t, &[]);
    }

    // ---- handles and Telegram ----------------------------------------------------
    for (i, n) in [
        "darkvendor",
        "Crypto_King99",
        "the_plug",
        "shadowmarket",
        "x_sellz",
        "NightOwl",
        "bulkdeals",
        "moneymule_uk",
        "anon_ops",
        "fastdrop",
    ]
    .iter()
    .enumerate()
    {
        let v = format!("@{}", n.to_lowercase());
        o.add(&format!("follow @{n} for drops"), &[("handle", &v)]);
        o.add(&format!("DM me (@{n})"), &[("handle", &v)]);
        match i % 3 {
            0 => o.add(&format!("tg: t.me/{n}"), &[("telegram", &v)]),
            1 => o.add(&format!("join https://t.me/{n}"), &[("telegram", &v)]),
            _ => o.add(&format!("telegram.me/{n}/123 pinned"), &[("telegram", &v)]),
        }
    }
    o.add("/** @param x the value @return y */", &[]);
    o.add(
        "invite t.me/joinchat/AbCdEf123 expired",
        &[("url", "t.me/joinchat/AbCdEf123")],
    );

    // ---- mixed lines -------------------------------------------------------------
    for _ in 0..30 {
        let e = format!("{}@{}", rng.pick(&names), rng.pick(&domains));
        let b = base58check(0, &rng.bytes::<20>());
        let p = rng.pick(&gb);
        o.add(
            &format!("Vendor {e} / {} / BTC {b}", p.0),
            &[("email", &e), ("phone", p.1), ("bitcoin", &b)],
        );
    }

    // ---- no identifiers ------------------------------------------------------------
    for t in [
        "The meeting is at 10:30 on 2024-01-31 in room 4.2.",
        "He paid 1,250.00 EUR in cash (approx. 1,070 GBP).",
        "Random hex 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "UUID 123e4567-e89b-12d3-a456-426614174000 logged",
        "Windows 10.0.19045 build, Chrome 120.0.6099.109",
        "See section 4.1.2 and figure 3.",
        "At least 3 people were at the scene at 2am.",
        "Temperature 21.5C, humidity 40%.",
        "base64 SGVsbG8gV29ybGQhIFRoaXMgaXMgYSB0ZXN0Lg==",
        "Mr. Smith went to Washington.",
    ] {
        o.add(t, &[]);
    }

    // ---- HTML ----------------------------------------------------------------------
    o.push(
        "<html><head><script>var a='x@evil-example.com';</script><style>.a{color:red}</style></head><body><p>Mail: j.doe&#64;example.org</p><p>Call <b>020 7946 0958</b></p></body></html>",
        true,
        &[("email", "j.doe@example.org"), ("phone", "+442079460958")],
    );
    o.push(
        "<div>contact: info<span>@</span>example<span>.</span>com</div><a href=\"mailto:sales@example.net\">mail us</a>",
        true,
        &[("email", "info@example.com"), ("email", "sales@example.net")],
    );
    o.push(
        "<table><tr><td>IBAN</td><td>GB82 WEST 1234 5698 7654 32</td></tr><tr><td>BTC</td><td>1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2</td></tr></table>",
        true,
        &[("iban", "GB82WEST12345698765432"), ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")],
    );
    o.push(
        "<p>Telegram: <a href=\"https://t.me/shadowmarket\">channel</a></p><!-- admin@example.com -->",
        true,
        &[("telegram", "@shadowmarket")],
    );

    for l in &o.lines {
        println!("{l}");
    }
    eprintln!("{} lines", o.lines.len());
}
