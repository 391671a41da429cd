//! Request bodies, query strings and the purpose header of the REST API (`spirit serve`),
//! through the server's own extractors in `spirit_server::auth` exactly as its handlers
//! receive them: `J<T>` (a JSON body into each of the 9 request types of `spirit_server::dto`),
//! `Q<T>` (a query string into each parameter type) and `Purpose` (`?purpose=` or
//! `X-Purpose`). The first byte picks which; the rest is the body, query or header. Checks
//! that need the workspace (authentication, cases) are not reached.
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderValue, Uri, header};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use spirit_server::auth::{J, PURPOSE_HEADER, Purpose, Q};
use spirit_server::dto::*;

/// Runs an extractor's future: with the whole body in memory it never waits.
fn ready<T>(f: impl Future<Output = T>) -> T {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn json_body<T: DeserializeOwned>(body: &[u8]) {
    let req = Request::builder()
        .method("POST")
        .uri("/api/x")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
        .expect("request");
    let _ = ready(J::<T>::from_request(req, &()));
}

fn query<T: DeserializeOwned>(q: &[u8]) {
    let Ok(uri) = Uri::try_from([b"/api/x?".as_slice(), q].concat()) else {
        return;
    };
    let (mut parts, ()) = Request::builder()
        .uri(uri)
        .body(())
        .expect("request")
        .into_parts();
    let _ = ready(Q::<T>::from_request_parts(&mut parts, &()));
}

fn purpose(value: &[u8], in_query: bool) {
    let mut builder = Request::builder();
    if in_query {
        let Ok(uri) = Uri::try_from([b"/api/x?purpose=".as_slice(), value].concat()) else {
            return;
        };
        builder = builder.uri(uri);
    } else {
        let Ok(v) = HeaderValue::from_bytes(value) else {
            return;
        };
        builder = builder.uri("/api/x").header(PURPOSE_HEADER, v);
    }
    let (mut parts, ()) = builder.body(()).expect("request").into_parts();
    let _ = ready(Purpose::from_request_parts(&mut parts, &()));
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    match first % 17 {
        0 => json_body::<JudgeRequest>(rest),
        1 => json_body::<MergeRequest>(rest),
        2 => json_body::<SplitRequest>(rest),
        3 => json_body::<LoginRequest>(rest),
        4 => json_body::<CreateUser>(rest),
        5 => json_body::<CreateToken>(rest),
        6 => json_body::<CreateCase>(rest),
        7 => json_body::<CreateSource>(rest),
        8 => query::<PageParams>(rest),
        9 => query::<SearchParams>(rest),
        10 => query::<PathParams>(rest),
        11 => query::<IngestParams>(rest),
        12 => query::<EraseParams>(rest),
        13 => query::<AuditParams>(rest),
        14 => purpose(rest, false),
        15 => purpose(rest, true),
        _ => json_body::<PasswordChange>(rest),
    }
});
