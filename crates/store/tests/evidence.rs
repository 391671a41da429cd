//! Identifiers from texts and media as record attributes: wallets, IBANs, cards, onions,
//! IPs, PGP fingerprints through ingest, resolution and search; posts as records and
//! accounts with their mentions' provenance; erasure of mentions.

use std::path::Path;

use spirit_model::NoProgress;
use spirit_store::{Workspace, ingest, query, search};
use spirit_text::extract::checks;

/// A valid GB IBAN for account number `n` (check digits found by trying all 97).
fn iban(n: u64) -> String {
    let bban = format!("WEST{:014}", n);
    (2..=98)
        .map(|cd| format!("GB{cd:02}{bban}"))
        .find(|i| checks::iban(i.as_bytes()))
        .expect("one check value fits")
}

/// A valid Ethereum address (lowercase carries no checksum).
fn wallet(n: u64) -> String {
    format!("0x{:040x}", 0x5aae_b605_3f3e_94c9u64.wrapping_mul(n + 1))
}

fn onion(n: u8) -> String {
    format!("{}.onion", checks::onion_encode(&[n; 32]))
}

/// A Luhn-valid Visa number.
fn card(n: u64) -> String {
    let body = format!("4{:014}", n);
    (0..10)
        .map(|d| format!("{body}{d}"))
        .find(|c| checks::card(c.as_bytes()))
        .unwrap()
}

const GIVEN: &[&str] = &[
    "anna", "boris", "carla", "dmitri", "elena", "farid", "greta", "hugo", "irina", "jonas",
    "karin", "lars", "mila", "nils", "olga", "pavel", "rosa", "sven", "tanja", "uwe",
];
const SURNAME: &[&str] = &[
    "keller",
    "novak",
    "moreau",
    "petrov",
    "rossi",
    "schmidt",
    "dubois",
    "lindqvist",
    "horvat",
    "kowalski",
    "jensen",
    "silva",
    "weber",
    "ivanova",
    "costa",
    "fischer",
    "nowak",
    "meyer",
    "bauer",
    "vogel",
];

/// Forty records, two per person: the second with a typo in the name and the wallet
/// written in mixed case through a `ethereum:` URI; one extra record with a wallet whose
/// EIP-55 checksum is broken.
fn write_people(dir: &Path) -> std::path::PathBuf {
    let mut text = String::from("rec_id,first_name,surname,wallet,iban,onion,card_number,ip\n");
    for p in 0..20u64 {
        let (g, s) = (GIVEN[p as usize], SURNAME[p as usize]);
        let w = wallet(p);
        text.push_str(&format!(
            "a{p},{g},{s},{w},{},{},{},10.0.{p}.1\n",
            iban(p),
            onion(p as u8),
            card(p)
        ));
        let typo = format!("{}{}", &s[..s.len() - 1], "x");
        text.push_str(&format!(
            "b{p},{g},{typo},ethereum:{},{},http://{}/shop,,\n",
            w.to_uppercase().replace("0X", "0x"),
            iban(p)
                .chars()
                .collect::<Vec<_>>()
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join(" "),
            onion(p as u8),
        ));
    }
    text.push_str("bad,zed,zulu,0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD,,,,\n");
    let path = dir.join("people.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn identifiers_from_texts_are_stored_resolved_and_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(dir.path(), None).unwrap();
    let file = write_people(dir.path());
    let report = ingest::ingest(&mut ws, Some("leak"), &file, None, &NoProgress).unwrap();
    assert_eq!(report.stored, 41);
    let mapped: Vec<&str> = report.mapping.iter().map(|(_, k)| k.as_str()).collect();
    for kind in [
        "crypto_address",
        "iban",
        "onion_address",
        "payment_card",
        "ip_address",
    ] {
        assert!(mapped.contains(&kind), "{kind} in {mapped:?}");
    }
    assert_eq!(
        report.invalid.get("crypto_address"),
        Some(&1),
        "{:?}",
        report.invalid
    );

    // The card is never stored in clear: not in the attributes, not in the payload.
    let rec = query::record(ws.connection(), "leak:a3").unwrap().unwrap();
    let clear = card(3);
    assert!(!rec.payload.contains(&clear), "{}", rec.payload);
    let (_, raw, value) = rec
        .attributes
        .iter()
        .find(|(k, _, _)| k == "payment_card")
        .unwrap();
    assert!(!raw.contains(&clear) && raw.contains("******"), "{raw}");
    let value = value.as_deref().unwrap();
    assert!(
        value.starts_with(&format!("card:{}:", &clear[12..])),
        "{value}"
    );

    spirit_store::incremental::resolve_stored(&mut ws, &NoProgress).unwrap();
    let entity_of = |key: &str| {
        query::record(ws.connection(), key)
            .unwrap()
            .unwrap()
            .entity
            .unwrap()
    };
    let together = (0..20)
        .filter(|p| entity_of(&format!("leak:a{p}")) == entity_of(&format!("leak:b{p}")))
        .count();
    assert!(together >= 19, "{together} of 20 pairs linked");
    assert_ne!(entity_of("leak:a0"), entity_of("leak:a1"));

    // Search finds a record by each identifier, written as a user would paste it.
    let conn = ws.connection();
    let a7 = query::record(conn, "leak:a7").unwrap().unwrap();
    let found = |q: &str| -> Vec<String> {
        search::search(conn, ws.card_key_if_any().unwrap().as_ref(), q, 5)
            .unwrap()
            .into_iter()
            .map(|h| query::record_by_id(conn, h.record).unwrap().unwrap().key)
            .collect()
    };
    let spaced_iban = iban(7)
        .chars()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ");
    for q in [
        wallet(7).to_uppercase().replace("0X", "0x"),
        spaced_iban,
        format!("http://{}", onion(7)),
        card(7),
        "10.0.7.1".to_string(),
    ] {
        let hits = found(&q);
        assert!(hits.contains(&a7.key), "{q}: {hits:?}");
        assert!(!hits.contains(&"leak:a8".to_string()), "{q}: {hits:?}");
    }
}

/// Posts on two forums by three handles: "seller1" on market_a and "shop_x" on forum_b
/// reuse a Bitcoin address and a PGP key; "other" posts about something else.
fn write_posts(dir: &Path) -> std::path::PathBuf {
    let fp = "4AEE18F83AFDEB231FF10B3E5AD50C4F7B1E7AC2";
    let lines = [
        r#"{"id":"1","author":"seller1","platform":"market_a","thread":"t1","timestamp":"2024-03-01T10:00:00Z","body":"Fresh stock. Pay to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT only.","likes":3}"#.to_string(),
        format!(r#"{{"id":"2","author":"seller1","platform":"market_a","thread":"t1","body":"<p>My PGP fingerprint: <b>{fp}</b></p><script>var x='bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'</script>"}}"#),
        format!(r#"{{"id":"3","user":"shop_x","forum":"forum_b","subject":"s","text":"new shop! btc 1BoatSLRHtKNngkdXEeobR76b53LETtpyT, pgp {fp}, card 4111 1111 1111 1111"}}"#),
        r#"{"id":"4","author":"other","platform":"forum_b","body":"nothing to see, mail me at someone@example.org"}"#.to_string(),
        r#"{"author":"broken", "body": }"#.to_string(),
        r#"{"id":"5","platform":"forum_b","body":"no author here"}"#.to_string(),
        String::new(),
    ];
    // Background: 150 vendors with a wallet each, on two forums under two handles.
    let mut text = lines.join("\n");
    for v in 0..150u64 {
        for (p, (handle, forum)) in [
            (format!("vendor{v}"), "forum_c"),
            (format!("{}_shop", GIVEN[v as usize % 20]), "forum_d"),
        ]
        .into_iter()
        .enumerate()
        {
            text.push_str(&format!(
                "\n{{\"id\":\"bg{v}-{p}\",\"author\":\"{handle}{v}\",\"platform\":\"{forum}\",\"body\":\"send to {} thanks, PGP fingerprint {:040X}\"}}",
                wallet(v),
                0x9e37_79b9_7f4a_7c15u128.wrapping_mul(u128::from(v) + 7)
            ));
        }
    }
    let path = dir.join("posts.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn posts_become_records_and_accounts_with_mentions() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(dir.path(), None).unwrap();
    let file = write_posts(dir.path());
    let r = spirit_store::posts::ingest_posts(&mut ws, "market_x", &file, &NoProgress).unwrap();
    assert_eq!(
        (r.read, r.posts_stored, r.accounts_created),
        (306, 304, 303),
        "{r:?}"
    );
    assert_eq!(r.quarantined, 2);
    let q = std::fs::read_to_string(r.quarantine_file.as_ref().unwrap()).unwrap();
    assert!(q.contains("posts.jsonl:5: not valid JSON"), "{q}");
    assert!(q.contains("posts.jsonl:6: no author"), "{q}");
    // btc + fingerprint (post 2: the script's address is dropped), btc + fp + card, e-mail.
    assert_eq!(r.mentions, 1 + 1 + 3 + 1 + 600, "{r:?}");

    // Idempotent: the same file again stores nothing.
    let again = spirit_store::posts::ingest_posts(&mut ws, "market_x", &file, &NoProgress).unwrap();
    assert_eq!(
        (
            again.posts_stored,
            again.posts_already_stored,
            again.mentions
        ),
        (0, 304, 0)
    );

    let conn = ws.connection();
    let acc = query::record(conn, "market_x:account:market_a:seller1")
        .unwrap()
        .unwrap();
    let attr = |rec: &query::RecordView, kind: &str| rec.value(kind).map(str::to_owned);
    assert_eq!(attr(&acc, "username").as_deref(), Some("seller1"));
    assert_eq!(
        attr(&acc, "crypto_address").as_deref(),
        Some("1BoatSLRHtKNngkdXEeobR76b53LETtpyT")
    );
    assert_eq!(
        attr(&acc, "pgp_fingerprint").as_deref(),
        Some("4AEE18F83AFDEB231FF10B3E5AD50C4F7B1E7AC2")
    );
    // The card of post 3: never in clear, neither in the payload nor in snippets.
    let post3 = query::record(conn, "market_x:post:3").unwrap().unwrap();
    assert!(
        !post3.payload.contains("4111 1111 1111 1111"),
        "{}",
        post3.payload
    );
    assert!(
        post3.payload.contains("4111 11** **** 1111"),
        "{}",
        post3.payload
    );
    let shop = query::record(conn, "market_x:account:forum_b:shop_x")
        .unwrap()
        .unwrap();
    let shop_id = search::search(conn, None, "shop_x", 5).unwrap();
    assert!(!shop_id.is_empty());
    let ms = spirit_store::mentions::of_record(conn, shop_id[0].record, None, 10).unwrap();
    let _ = shop;
    assert!(
        ms.iter().all(|m| !m.snippet.contains("1111 1111 1111")),
        "{ms:?}"
    );

    // Provenance of the account's wallet: post 1, its line, offsets into the body.
    let acc_hits = search::search(conn, None, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", 10).unwrap();
    let keys: Vec<String> = acc_hits
        .iter()
        .map(|h| query::record_by_id(conn, h.record).unwrap().unwrap().key)
        .collect();
    for k in [
        "market_x:account:market_a:seller1",
        "market_x:account:forum_b:shop_x",
        "market_x:post:1",
        "market_x:post:3",
    ] {
        assert!(keys.contains(&k.to_string()), "{k} in {keys:?}");
    }
    let seller_id = acc_hits[keys.iter().position(|k| k.ends_with("seller1")).unwrap()].record;
    let wallet = spirit_store::mentions::of_record(
        conn,
        seller_id,
        Some(("crypto_address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")),
        5,
    )
    .unwrap();
    assert_eq!(wallet.len(), 1);
    let m = &wallet[0];
    assert_eq!(m.origin, "market_x:post:1");
    assert!(m.document.ends_with("posts.jsonl:1"), "{m:?}");
    let body = "Fresh stock. Pay to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT only.";
    assert_eq!(
        &body[m.start as usize..m.end as usize],
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
    );
    assert!(
        m.snippet
            .contains("Pay to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT only.")
    );

    // Resolution links the two accounts that share the wallet and the key.
    spirit_store::incremental::resolve_stored(&mut ws, &NoProgress).unwrap();
    let conn = ws.connection();
    let model = spirit_store::resolve::current_model(conn).unwrap().unwrap();
    assert!(
        model
            .rules
            .iter()
            .any(|r| r.to_string() == "crypto_address:exact"),
        "{:?}",
        model.rules
    );
    let entity = |key: &str| query::record(conn, key).unwrap().unwrap().entity.unwrap();
    assert_eq!(
        entity("market_x:account:market_a:seller1"),
        entity("market_x:account:forum_b:shop_x")
    );
    assert_ne!(
        entity("market_x:account:market_a:seller1"),
        entity("market_x:account:forum_b:other")
    );
    let view = query::entity(conn, &entity("market_x:account:forum_b:shop_x"))
        .unwrap()
        .unwrap();
    assert!(
        view.mentions
            .iter()
            .any(|m| m.kind == "pgp_fingerprint" && m.origin == "market_x:post:3"),
        "{:?}",
        view.mentions
    );

    // Erasing post 1 removes its mentions, also those it gave the account.
    let post1 = query::record(conn, "market_x:post:1").unwrap().unwrap();
    let post1_id = search::search(conn, None, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", 10)
        .unwrap()
        .into_iter()
        .find(|h| query::record_by_id(conn, h.record).unwrap().unwrap().key == post1.key)
        .unwrap()
        .record;
    let erased = spirit_store::retention::erase(
        &mut ws,
        &[post1_id],
        spirit_store::audit::Entry::new("cli:test", "record.erase"),
    )
    .unwrap();
    assert_eq!(erased.mentions, 2, "{erased:?}");
    let left = spirit_store::mentions::of_record(ws.connection(), seller_id, None, 10).unwrap();
    assert!(
        left.iter().all(|m| m.origin != "market_x:post:1"),
        "{left:?}"
    );
    assert_eq!(left.len(), 1, "the key from post 2 stays");
    // The wallet came only from post 1: the account no longer holds it, nor is found by
    // it; the key from post 2 stays its attribute.
    assert_eq!(erased.accounts.attributes_removed, 1, "{erased:?}");
    let conn = ws.connection();
    let acc = query::record(conn, "market_x:account:market_a:seller1")
        .unwrap()
        .unwrap();
    assert_eq!(attr(&acc, "crypto_address"), None);
    assert_eq!(
        attr(&acc, "pgp_fingerprint").as_deref(),
        Some("4AEE18F83AFDEB231FF10B3E5AD50C4F7B1E7AC2")
    );
    let hits = search::search(conn, None, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", 10).unwrap();
    assert!(hits.iter().all(|h| h.record != seller_id), "{hits:?}");
}

/// The store's quarantine files (rows of a table, lines of posts) go through the one
/// quarantine writer: no card number is left in clear, wherever it stood in the row.
#[test]
fn the_store_quarantine_masks_every_card_number() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(dir.path(), None).unwrap();
    let cards: Vec<String> = (0..4).map(card).collect();
    let spaced = |c: &str| {
        c.as_bytes()
            .chunks(4)
            .map(|g| std::str::from_utf8(g).unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    };
    // A table: a row of the wrong width, a duplicate id, an empty id; each holds a card.
    let table = format!(
        "rec_id,first_name,surname,card\n1,Ann,Lee,{}\n2,Bo,Ng,{},extra\n1,Cy,Do,{}\n,Di,Fu,\"{} 12/29\"\n",
        cards[0],
        cards[1],
        spaced(&cards[2]),
        cards[3],
    );
    let path = dir.path().join("people.csv");
    std::fs::write(&path, table).unwrap();
    let r = ingest::ingest(&mut ws, Some("people"), &path, None, &NoProgress).unwrap();
    assert_eq!((r.stored, r.quarantined), (1, 3), "{r:?}");
    // Posts: lines that are not usable posts, with cards in them.
    let posts = format!(
        "{{\"id\":\"p1\",\"author\":\"a\",\"body\":\"hi\"}}\n{{\"id\":\"p2\",\"body\":\"card {}\"}}\nnot json {}\n",
        cards[1],
        spaced(&cards[0]),
    );
    let ppath = dir.path().join("posts.jsonl");
    std::fs::write(&ppath, posts).unwrap();
    let p = spirit_store::posts::ingest_posts(&mut ws, "forum", &ppath, &NoProgress).unwrap();
    assert_eq!(p.quarantined, 2, "{p:?}");
    for file in [&r.quarantine_file, &p.quarantine_file] {
        let text = std::fs::read_to_string(file.as_ref().unwrap()).unwrap();
        assert!(text.starts_with("source,line,reason,raw\n"), "{text}");
        for c in &cards {
            assert!(!text.contains(c.as_str()), "{c} in {text}");
            assert!(!text.contains(&spaced(c)), "{c} in {text}");
            assert!(text.contains(&c[..6]), "the first six digits stay: {text}");
        }
    }
    // A card written with JSON escapes in a rejected line, and cards in a stored post's
    // other fields (a title, a number): masked as well.
    let escaped = spaced(&cards[2]).replace(' ', "\\u0020");
    let posts = format!(
        "{{\"id\":\"p4\",\"body\":\"x\",\"card\":\"{escaped}\"}}\n\
         {{\"id\":\"p5\",\"author\":\"b\",\"body\":\"hello\",\"title\":\"sale {}\",\"price\":{}}}\n",
        spaced(&cards[1]),
        cards[3],
    );
    std::fs::write(&ppath, posts).unwrap();
    let p = spirit_store::posts::ingest_posts(&mut ws, "forum", &ppath, &NoProgress).unwrap();
    assert_eq!((p.quarantined, p.posts_stored), (1, 1), "{p:?}");
    let text = std::fs::read_to_string(p.quarantine_file.as_ref().unwrap()).unwrap();
    assert!(!text.contains(&escaped), "{text}");
    assert!(
        !text.contains(&cards[2][8..12]),
        "the middle digits: {text}"
    );
    let post = query::record(ws.connection(), "forum:post:p5")
        .unwrap()
        .unwrap();
    for c in [&cards[1], &cards[3]] {
        assert!(!post.payload.contains(c.as_str()), "{}", post.payload);
        assert!(!post.payload.contains(&spaced(c)), "{}", post.payload);
    }
    assert!(
        post.payload.contains("\"body\":\"hello\""),
        "{}",
        post.payload
    );
}
