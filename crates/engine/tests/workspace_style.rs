//! Writing style in the store: accounts get a style profile from their posts, rebuilt
//! when posts arrive or are erased; the writing_style comparison is advisory unless the
//! settings let it link; erasing a post takes from its account what came only from it.

use std::path::{Path, PathBuf};

use spirit_model::NoProgress;
use spirit_store::{Workspace, posts, query, retention, search};
use spirit_text::style::Profile;
use spirit_text::style::sample::house_style as text;

struct Account {
    author: &'static str,
    platform: &'static str,
    style: u8,
    seed: u64,
    /// Said at the end of the first post only.
    said: &'static str,
}

const ACCOUNTS: &[Account] = &[
    // One writer under two handles one character apart: style alone.
    Account {
        author: "nightowl",
        platform: "forum_a",
        style: 0,
        seed: 1,
        said: "",
    },
    Account {
        author: "nightowl2",
        platform: "forum_b",
        style: 0,
        seed: 2,
        said: "",
    },
    // Two writers, one e-mail (a shared mailbox, a relay): weak evidence alone here.
    Account {
        author: "darkstar",
        platform: "forum_a",
        style: 1,
        seed: 3,
        said: "mail star.box@example.org",
    },
    Account {
        author: "blackhole",
        platform: "forum_b",
        style: 0,
        seed: 4,
        said: "mail star.box@example.org",
    },
    // One writer, one e-mail: style tips it when the settings let it.
    Account {
        author: "redhawk",
        platform: "forum_a",
        style: 0,
        seed: 7,
        said: "mail hawk.nest@example.org",
    },
    Account {
        author: "greyfalcon",
        platform: "forum_b",
        style: 0,
        seed: 8,
        said: "mail hawk.nest@example.org",
    },
    // One writer, an e-mail and a wallet: linked either way.
    Account {
        author: "quietfox",
        platform: "forum_a",
        style: 1,
        seed: 5,
        said: "write to fox.den@example.org, pay 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    },
    Account {
        author: "silentfox",
        platform: "forum_b",
        style: 1,
        seed: 6,
        said: "write to fox.den@example.org, pay 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    },
];

/// Six posts of 120 words per account (720 words), with times; the first post of an
/// account with an e-mail mentions it.
fn write_posts(
    dir: &Path,
    name: &str,
    accounts: &[Account],
    posts: std::ops::Range<u64>,
) -> PathBuf {
    let mut lines = Vec::new();
    for a in accounts {
        for p in posts.clone() {
            let mut body = text(a.style, a.seed * 100 + p, 120);
            if p == 0 && !a.said.is_empty() {
                body.push_str(&format!(" {}", a.said));
            }
            lines.push(
                serde_json::json!({
                    "id": format!("{}-{p}", a.author),
                    "author": a.author,
                    "platform": a.platform,
                    "timestamp": format!("2024-03-0{}T{:02}:15:00Z", 1 + p % 5, 20 + p % 4),
                    "body": body,
                })
                .to_string(),
            );
        }
    }
    if accounts.len() > 1 {
        // Background: 80 people with two accounts each on two other forums, one short
        // post each, sharing an e-mail (so the model learns what an e-mail is worth).
        let names = [
            "anna", "boris", "carla", "dmitri", "elena", "farid", "greta", "hugo",
        ];
        for i in 0..80u64 {
            for (handle, forum) in [
                (format!("{}{i}", names[i as usize % names.len()]), "forum_c"),
                (format!("shop{i}"), "forum_d"),
            ] {
                lines.push(serde_json::json!({
                    "id": format!("bg-{handle}"),
                    "author": handle,
                    "platform": forum,
                    "body": format!(
                        "{} mail {}{}@{} pay 0x{:040x}",
                        text((i % 2) as u8, 1000 + i, 30),
                        ["kilo", "lima", "mike", "oscar", "papa", "romeo", "sierra", "tango"][i as usize % 8],
                        (i * 7919) % 99_991,
                        ["example.net", "example.com", "example.org"][i as usize % 3],
                        0x5aae_b605_3f3e_94c9u64.wrapping_mul(i + 1)
                    ),
                }).to_string());
            }
        }
    }
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n")).unwrap();
    path
}

const SETTINGS: &str = r#"
[[blocking]]
keys = ["username:exact"]
[[blocking]]
keys = ["email:exact"]
[[blocking]]
keys = ["username:prefix5"]
"#;

fn workspace(dir: &Path, can_link: bool) -> Workspace {
    let settings = if can_link {
        SETTINGS.replace(
            "[[blocking]]\nkeys = [\"username:exact\"]",
            "[resolve]\nstyle_can_link = true\n[[blocking]]\nkeys = [\"username:exact\"]",
        )
    } else {
        SETTINGS.to_string()
    };
    let mut ws = Workspace::init(&dir.join("ws"), Some(&settings)).unwrap();
    let file = write_posts(dir, "posts.jsonl", ACCOUNTS, 0..6);
    let r = posts::ingest_posts(&mut ws, "seized", &file, &NoProgress).unwrap();
    assert_eq!(
        (r.posts_stored, r.accounts_created, r.style_profiles),
        (48 + 160, 8 + 160, 8 + 160),
        "{r:?}"
    );
    ws
}

fn attr(ws: &Workspace, key: &str, kind: &str) -> Option<String> {
    query::record(ws.connection(), key)
        .unwrap()
        .unwrap()
        .value(kind)
        .map(str::to_owned)
}

fn entity(ws: &Workspace, key: &str) -> String {
    query::record(ws.connection(), key)
        .unwrap()
        .unwrap()
        .entity
        .unwrap()
}

fn profile_words(ws: &Workspace, key: &str) -> u64 {
    Profile::parse(&attr(ws, key, "style_profile").expect("a style profile"))
        .unwrap()
        .words()
}

#[test]
fn accounts_get_a_profile_rebuilt_as_posts_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(&dir.path().join("ws"), None).unwrap();
    let first = write_posts(dir.path(), "a.jsonl", &ACCOUNTS[..1], 0..3);
    let r = posts::ingest_posts(&mut ws, "seized", &first, &NoProgress).unwrap();
    assert_eq!(r.style_profiles, 1);
    let key = "seized:account:forum_a:nightowl";
    let words = profile_words(&ws, key);
    assert!(words >= 3 * 120, "{words}");
    let p = Profile::parse(&attr(&ws, key, "style_profile").unwrap()).unwrap();
    assert_eq!((p.texts(), p.timestamps()), (3, 3));
    // The same file again changes nothing; a later file adds to the profile.
    let again = posts::ingest_posts(&mut ws, "seized", &first, &NoProgress).unwrap();
    assert_eq!(again.style_profiles, 0);
    assert_eq!(profile_words(&ws, key), words);
    let more = write_posts(dir.path(), "b.jsonl", &ACCOUNTS[..1], 3..6);
    posts::ingest_posts(&mut ws, "seized", &more, &NoProgress).unwrap();
    let p = Profile::parse(&attr(&ws, key, "style_profile").unwrap()).unwrap();
    assert_eq!(p.texts(), 6);
    assert!(p.words() >= 2 * words, "{} vs {words}", p.words());
    // The profile is not a search term.
    let value = attr(&ws, key, "style_profile").unwrap();
    assert!(
        search::search(ws.connection(), None, &value[..40], 5)
            .unwrap()
            .is_empty()
    );
    // Erasing posts rebuilds it from what is left; with none left there is none.
    let post_ids: Vec<i64> = (0..6)
        .map(|p| {
            query::record(ws.connection(), &format!("seized:post:nightowl-{p}"))
                .unwrap()
                .unwrap()
        })
        .map(|v| search_id(&ws, &v.key))
        .collect();
    let e = retention::erase(
        &mut ws,
        &post_ids[..4],
        spirit_store::audit::Entry::new("cli:test", "record.erase"),
    )
    .unwrap();
    assert_eq!(e.accounts.accounts, 1, "{e:?}");
    assert_eq!(
        Profile::parse(&attr(&ws, key, "style_profile").unwrap())
            .unwrap()
            .texts(),
        2
    );
    retention::erase(
        &mut ws,
        &post_ids[4..],
        spirit_store::audit::Entry::new("cli:test", "record.erase"),
    )
    .unwrap();
    assert_eq!(attr(&ws, key, "style_profile"), None);
    assert_eq!(attr(&ws, key, "username").as_deref(), Some("nightowl"));
}

/// The internal id of a record by its key.
fn search_id(ws: &Workspace, key: &str) -> i64 {
    ws.connection()
        .query_row(
            "SELECT r.id FROM records r JOIN sources s ON s.id = r.source \
             WHERE s.name || ':' || r.record_id = ?1",
            [key],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn style_is_advisory_by_default_and_links_only_when_the_settings_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = workspace(dir.path(), false);
    let rep = spirit_engine::workspace::resolve(&mut ws, false, &NoProgress).unwrap();
    let model = spirit_store::resolve::current_model(ws.connection())
        .unwrap()
        .unwrap()
        .model;
    let style = model
        .comparisons
        .iter()
        .find(|c| c.name == "writing_style")
        .expect("a style comparison");
    assert!(style.advisory, "{rep:?}");
    let owl = "seized:account:forum_a:nightowl";
    let owl2 = "seized:account:forum_b:nightowl2";
    let star = "seized:account:forum_a:darkstar";
    let star2 = "seized:account:forum_b:blackhole";
    let hawk = "seized:account:forum_a:redhawk";
    let hawk2 = "seized:account:forum_b:greyfalcon";
    let fox = "seized:account:forum_a:quietfox";
    let fox2 = "seized:account:forum_b:silentfox";
    assert_ne!(
        entity(&ws, owl),
        entity(&ws, owl2),
        "writing style alone does not link"
    );
    assert_ne!(entity(&ws, star), entity(&ws, star2));
    assert_ne!(
        entity(&ws, hawk),
        entity(&ws, hawk2),
        "style does not count by default"
    );
    // The shared e-mail links as before, and the explanation shows style as advisory.
    assert_eq!(entity(&ws, fox), entity(&ws, fox2));
    let view = query::entity(ws.connection(), &entity(&ws, fox))
        .unwrap()
        .unwrap();
    let edge = view
        .edges
        .iter()
        .find(|e| {
            [e.left.as_str(), e.right.as_str()] == [fox, fox2]
                || [e.left.as_str(), e.right.as_str()] == [fox2, fox]
        })
        .expect("the accounts' edge");
    assert!(
        edge.partials.iter().all(|(n, _)| n != "writing_style"),
        "{edge:?}"
    );
    let adv = &edge.advisory[0];
    assert_eq!(
        (adv.comparison.as_str(), adv.level.as_str()),
        ("writing_style", "strong"),
        "{edge:?}"
    );
    assert!(adv.weight > 3.0 && !adv.counts, "{adv:?}");
    assert_eq!(
        adv.calibration.as_deref(),
        Some(spirit_text::style::CALIBRATION_NAME)
    );
    // With style allowed to link, the same writer's two handles are one entity; two
    // writers are not.
    let dir2 = tempfile::tempdir().unwrap();
    let mut ws2 = workspace(dir2.path(), true);
    spirit_engine::workspace::resolve(&mut ws2, false, &NoProgress).unwrap();
    let model2 = spirit_store::resolve::current_model(ws2.connection())
        .unwrap()
        .unwrap()
        .model;
    assert!(
        !model2
            .comparisons
            .iter()
            .find(|c| c.name == "writing_style")
            .unwrap()
            .advisory
    );
    assert_eq!(
        entity(&ws2, hawk),
        entity(&ws2, hawk2),
        "a strong style score tips the e-mail"
    );
    assert_ne!(
        entity(&ws2, star),
        entity(&ws2, star2),
        "a clear difference in style counts against"
    );
    assert_ne!(entity(&ws2, owl), entity(&ws2, owl2));
    assert_eq!(entity(&ws2, fox), entity(&ws2, fox2));
}

#[test]
fn erasing_a_post_takes_what_came_only_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = workspace(dir.path(), false);
    spirit_engine::workspace::resolve(&mut ws, false, &NoProgress).unwrap();
    let fox = "seized:account:forum_a:quietfox";
    let fox2 = "seized:account:forum_b:silentfox";
    assert_eq!(
        attr(&ws, fox, "email").as_deref(),
        Some("fox.den@example.org")
    );
    let before = search::search(ws.connection(), None, "fox.den@example.org", 10).unwrap();
    assert!(before.iter().any(|h| h.record == search_id(&ws, fox)));
    let post = search_id(&ws, "seized:post:quietfox-0");
    let words = profile_words(&ws, fox);
    let e = retention::erase(
        &mut ws,
        &[post],
        spirit_store::audit::Entry::new("cli:test", "record.erase"),
    )
    .unwrap();
    assert_eq!(
        (
            e.accounts.accounts,
            e.accounts.attributes_removed,
            e.accounts.attributes_replaced
        ),
        (1, 2, 0),
        "{e:?}"
    );
    assert!(e.accounts.edges >= 1, "{e:?}");
    // The e-mail came only from the erased post: gone from the account and its search
    // terms; the other account keeps its own.
    assert_eq!(attr(&ws, fox, "email"), None);
    let after = search::search(ws.connection(), None, "fox.den@example.org", 10).unwrap();
    assert!(
        after.iter().all(|h| h.record != search_id(&ws, fox)),
        "{after:?}"
    );
    assert_eq!(
        attr(&ws, fox2, "email").as_deref(),
        Some("fox.den@example.org")
    );
    assert!(profile_words(&ws, fox) < words);
    // No stored edge of the account rests on the erased e-mail, and the two accounts
    // are no longer one entity.
    assert_ne!(entity(&ws, fox), entity(&ws, fox2));
    // A fresh resolve scores the account again from what is left.
    spirit_engine::workspace::resolve(&mut ws, false, &NoProgress).unwrap();
    assert_ne!(entity(&ws, fox), entity(&ws, fox2));
}

#[test]
fn erasing_a_post_takes_its_values_from_the_account_and_from_search() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(&dir.path().join("ws"), None).unwrap();
    // The account's first e-mail comes from post 0; post 1 names a second, which the
    // account keeps too (an account holds every address its posts give).
    let lines = [
        serde_json::json!({"id": "p0", "author": "lynx", "platform": "forum_a",
            "body": format!("{} write to lynx.one@example.org", text(1, 1, 40))}),
        serde_json::json!({"id": "p1", "author": "lynx", "platform": "forum_a",
            "body": format!("{} or to lynx.two@example.org", text(1, 2, 40))}),
    ];
    let file = dir.path().join("posts.jsonl");
    std::fs::write(&file, lines.map(|l| l.to_string()).join("\n")).unwrap();
    posts::ingest_posts(&mut ws, "seized", &file, &NoProgress).unwrap();
    let account = "seized:account:forum_a:lynx";
    let id = search_id(&ws, account);
    let finds = |ws: &Workspace, q: &str| {
        search::search(ws.connection(), None, q, 10)
            .unwrap()
            .iter()
            .any(|h| h.record == id)
    };
    assert!(finds(&ws, "lynx.two@example.org"));
    let emails = |ws: &Workspace| -> Vec<String> {
        query::record(ws.connection(), account)
            .unwrap()
            .unwrap()
            .attributes
            .into_iter()
            .filter(|(k, _, _)| k == "email")
            .filter_map(|(_, _, v)| v)
            .collect()
    };
    assert_eq!(
        emails(&ws),
        ["lynx.one@example.org", "lynx.two@example.org"]
    );
    let post = search_id(&ws, "seized:post:p1");
    let e = retention::erase(
        &mut ws,
        &[post],
        spirit_store::audit::Entry::new("cli:test", "record.erase"),
    )
    .unwrap();
    assert_eq!(
        (
            e.accounts.attributes_removed,
            e.accounts.attributes_replaced
        ),
        (1, 0),
        "{e:?}"
    );
    assert_eq!(emails(&ws), ["lynx.one@example.org"]);
    assert!(
        !finds(&ws, "lynx.two@example.org"),
        "a value found only in the erased post still finds the account"
    );
    assert!(finds(&ws, "lynx.one@example.org"));
}
