//! Writing style through the real binary: `spirit ingest --format posts` builds accounts'
//! style profiles, `spirit resolve` links on identifiers, and `spirit entity` shows the
//! style weight of the accounts' link as advisory, with its calibration.

use std::process::Command;

fn ok(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_spirit"))
        .arg("--quiet")
        .args(args)
        .output()
        .expect("spirit runs");
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Deterministic formal prose, `words` words long.
fn text(seed: u64, words: usize) -> String {
    spirit_text::style::sample::house_style(1, seed, words)
}

#[test]
fn the_style_weight_of_a_link_is_shown_as_advisory() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for (author, forum, seed) in [("quietfox", "forum_a", 5u64), ("silentfox", "forum_b", 6)] {
        for p in 0..6u64 {
            let mut body = text(seed * 100 + p, 120);
            if p == 0 {
                body.push_str(
                    " write to fox.den@example.org, pay 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
                );
            }
            lines.push(serde_json::json!({"id": format!("{author}-{p}"), "author": author, "platform": forum, "body": body}).to_string());
        }
    }
    for i in 0..80u64 {
        for handle in [format!("anna{i}"), format!("shop{i}")] {
            lines.push(serde_json::json!({
                "id": format!("bg-{handle}"),
                "author": handle,
                "platform": if handle.starts_with("shop") { "forum_d" } else { "forum_c" },
                "body": format!("{} mail box{}@example.net pay 0x{:040x}", text(1000 + i, 30), (i * 7919) % 99_991, 0x5aae_b605_3f3e_94c9u64.wrapping_mul(i + 1)),
            }).to_string());
        }
    }
    let posts = dir.path().join("posts.jsonl");
    std::fs::write(&posts, lines.join("\n")).unwrap();
    let ws = dir.path().join("ws");
    let ws = ws.to_str().unwrap();
    ok(&["init", ws]);
    let out = ok(&[
        "ingest",
        ws,
        "--source",
        "seized",
        "--format",
        "posts",
        posts.to_str().unwrap(),
    ]);
    assert!(out.contains("162 style profiles (re)built"), "{out}");
    ok(&["resolve", ws]);
    let hits = ok(&["search", ws, "quietfox"]);
    let line = hits
        .lines()
        .find(|l| l.contains("account:forum_a:quietfox"))
        .expect("the account");
    let entity = line.split_whitespace().nth(2).unwrap();
    let view = ok(&["entity", ws, entity]);
    assert!(view.contains("seized:account:forum_b:silentfox"), "{view}");
    assert!(view.contains("built from 6 posts"), "{view}");
    assert!(
        !view.contains("spirit-style/1:"),
        "the profile's counts are not printed: {view}"
    );
    let advisory: Vec<&str> = view
        .lines()
        .filter(|l| l.contains("advisory, not counted"))
        .collect();
    assert_eq!(
        advisory.len(),
        1,
        "only the accounts' link compares styles: {view}"
    );
    assert!(
        advisory[0].contains("writing_style +5.20 (strong)"),
        "{view}"
    );
    assert!(
        advisory[0].contains("spirit-style default calibration v1"),
        "{view}"
    );
}
