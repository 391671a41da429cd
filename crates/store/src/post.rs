//! One post of a JSON Lines file of forum posts, listings or messages: which fields hold
//! its author, platform, thread, time, body and id ([`FIELDS`]), how a line is parsed
//! ([`parse_post`]) and whether its body is HTML ([`body_format`]). The posts ingest
//! (`posts`) stores what this reads; the style profiles (`style`) read stored posts back
//! with it.

use serde_json::{Map, Value};
use spirit_text::extract::Format;

/// The fields of a post and the names recognised for each (case-insensitive), first
/// match wins.
pub const FIELDS: &[(&str, &[&str])] = &[
    (
        "author",
        &[
            "author",
            "author_handle",
            "username",
            "user",
            "handle",
            "from",
            "sender",
            "poster",
            "screen_name",
            "nick",
        ],
    ),
    (
        "platform",
        &[
            "platform", "forum", "site", "market", "board", "network", "service",
        ],
    ),
    (
        "thread",
        &[
            "thread",
            "thread_id",
            "topic",
            "subject",
            "channel",
            "chat",
            "conversation",
        ],
    ),
    (
        "timestamp",
        &[
            "timestamp",
            "time",
            "date",
            "created_at",
            "posted_at",
            "datetime",
            "ts",
        ],
    ),
    (
        "body",
        &["body", "text", "content", "message", "html", "post", "msg"],
    ),
    ("id", &["id", "post_id", "message_id", "msg_id", "uuid"]),
];

/// One parsed post.
#[derive(Clone, Debug, PartialEq)]
pub struct Post {
    pub id: Option<String>,
    pub author: String,
    pub platform: Option<String>,
    pub thread: Option<String>,
    pub timestamp: Option<String>,
    pub body: String,
    /// The whole object, every field kept.
    pub object: Map<String, Value>,
    /// The key of the body field in `object`.
    pub body_key: String,
}

/// Text of a scalar JSON value (strings as they are, numbers and booleans printed).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The key and value of the first field of `object` named like one of `names`.
fn field<'a>(object: &'a Map<String, Value>, names: &[&str]) -> Option<(&'a String, &'a Value)> {
    names.iter().find_map(|n| {
        object
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(n) && !v.is_null())
    })
}

fn names_of(what: &str) -> &'static [&'static str] {
    FIELDS
        .iter()
        .find(|(f, _)| *f == what)
        .map_or(&[], |(_, n)| n)
}

/// Parses one line; the error says what is wrong (the caller adds `file:line`).
pub fn parse_post(line: &str) -> Result<Post, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(object) = value else {
        return Err("not a JSON object".into());
    };
    let get = |what: &str| field(&object, names_of(what)).and_then(|(_, v)| scalar(v));
    let author = get("author")
        .ok_or_else(|| format!("no author (looked for {})", names_of("author").join(", ")))?;
    let (body_key, body) = match field(&object, names_of("body")) {
        Some((k, Value::String(s))) => (k.clone(), s.clone()),
        Some((k, _)) => return Err(format!("field {k:?} (the body) is not a string")),
        None => {
            return Err(format!(
                "no body (looked for {})",
                names_of("body").join(", ")
            ));
        }
    };
    Ok(Post {
        id: get("id"),
        platform: get("platform"),
        thread: get("thread"),
        timestamp: get("timestamp"),
        author,
        body,
        body_key,
        object,
    })
}

/// HTML when the body field is named `html`, or the body looks like HTML: a document's
/// tags, or any closing tag (a post body is a fragment, often one `<p>`).
pub fn body_format(post: &Post) -> Format {
    let b = post.body.as_bytes();
    let closing = memchr_find(b, b"</") && b.contains(&b'>');
    if post.body_key.eq_ignore_ascii_case("html")
        || spirit_text::extract::looks_like_html(b)
        || closing
    {
        Format::Html
    } else {
        Format::Text
    }
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_by_common_names() {
        let p = parse_post(
            r#"{"User":"vend0r","forum":"dread","Subject":"t1","created_at":"2024-01-02","message":"hi","extra":[1]}"#,
        )
        .unwrap();
        assert_eq!(p.author, "vend0r");
        assert_eq!(p.platform.as_deref(), Some("dread"));
        assert_eq!(p.thread.as_deref(), Some("t1"));
        assert_eq!(p.timestamp.as_deref(), Some("2024-01-02"));
        assert_eq!(p.body, "hi");
        assert_eq!(p.body_key, "message");
        assert!(p.object.contains_key("extra"));
        assert!(
            parse_post(r#"{"text":"x"}"#)
                .unwrap_err()
                .contains("no author")
        );
        assert!(
            parse_post(r#"{"author":"a"}"#)
                .unwrap_err()
                .contains("no body")
        );
        assert!(parse_post("[1]").unwrap_err().contains("not a JSON object"));
        assert!(parse_post("{").unwrap_err().contains("not valid JSON"));
        assert!(
            parse_post(r#"{"author":"a","body":5}"#)
                .unwrap_err()
                .contains("not a string")
        );
    }
}
