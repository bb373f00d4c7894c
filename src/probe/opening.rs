//! The opening handshake, judged: the server's response to the prober's request
//! (§4.2.2), the client's request (§4.1), and what a client does with a response it
//! must refuse.

use std::string::String;
use std::vec::Vec;
use std::{format, vec};

use crate::Role;
use crate::oracle::{self, Options, OracleEvent};

use super::judge::{End, Judged, Observed, Problem};
use super::wire::Head;

/// The header `name`'s value in `headers`, if present (the first one).
fn header<'a>(headers: &'a [httparse::Header<'a>], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| core::str::from_utf8(h.value).unwrap_or("").trim())
}

fn has_token(value: Option<&str>, token: &str) -> bool {
    value.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// What the oracle, as a server, makes of `request`: `Ok` if valid, else the HTTP
/// status and the error.
fn oracle_on_request(request: &[u8]) -> Result<(), (u16, String)> {
    let verdict = oracle::run_with(
        Options {
            role: Role::Server,
            handshake: true,
        },
        request,
    );
    match verdict.events.first() {
        Some(OracleEvent::Request { .. }) => Ok(()),
        Some(OracleEvent::Close { status, error, .. }) => {
            Err((status.unwrap_or(400), error.clone().unwrap_or_default()))
        }
        _ => Err((400, String::from("no verdict"))),
    }
}

/// Whether `bytes` parse as an HTTP request head.
fn is_http_request(bytes: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    httparse::Request::new(&mut headers).parse(bytes).is_ok()
}

fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    String::from(text.lines().next().unwrap_or(""))
}

/// Judges the server's answer to `request` (whose key is `key`). For a request the
/// server must refuse (`bad`), the answer must be an HTTP error; otherwise a valid
/// 101 whose bytes after the head are returned, with any open findings.
pub(crate) fn check_response(
    request: &[u8],
    key: &str,
    head: Result<Head, (End, Vec<u8>)>,
    bad: bool,
) -> Result<(Vec<u8>, Vec<Problem>), Problem> {
    let oracle = oracle_on_request(request);
    let want = match &oracle {
        Ok(()) => String::from("101 Switching Protocols with the right Sec-WebSocket-Accept"),
        Err((status, error)) => format!("an HTTP {status} answer ({error})"),
    };
    let head = match head {
        Ok(h) => h,
        Err((end, got)) if bad && !is_http_request(request) => {
            let problem = Problem::new(
                "no-answer-to-non-http",
                "4.2.1",
                want,
                format!(
                    "{end:?} after {} bytes (bytes that are not an HTTP request are not a \
                     handshake the RFC asks an HTTP answer to)",
                    got.len()
                ),
            );
            return Ok((Vec::new(), vec![problem]));
        }
        Err((end, got)) => {
            let kind = if bad { "no-http-answer" } else { "no-response" };
            let section = if bad { "4.2.1" } else { "4.2.2" };
            return Err(Problem::new(
                kind,
                section,
                want,
                format!("{end:?} after {} bytes of answer", got.len()),
            ));
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let status = match response.parse(&head.head) {
        Ok(httparse::Status::Complete(_)) => response.code.unwrap_or(0),
        _ => {
            return Err(Problem::new(
                "malformed-response",
                "4.2.2",
                want,
                format!("not an HTTP response: {:?}", first_line(&head.head)),
            ));
        }
    };
    let headers = response.headers;
    let mut open = Vec::new();
    if let Err((expected, _)) = oracle {
        if status == 101 {
            return Err(Problem::new(
                "accepted-bad-request",
                "4.2.1",
                want,
                first_line(&head.head),
            ));
        }
        if !(400..600).contains(&status) {
            return Err(Problem::new(
                "not-an-error-status",
                "4.2.1",
                want,
                first_line(&head.head),
            ));
        }
        if expected == 426 && header(headers, "Sec-WebSocket-Version").is_none() {
            return Err(Problem::new(
                "no-version-header",
                "4.4",
                "an error answer carrying Sec-WebSocket-Version: 13",
                format!("{} without Sec-WebSocket-Version", first_line(&head.head)),
            ));
        }
        if status != expected {
            open.push(Problem::new(
                "other-status",
                "4.2.1",
                want,
                format!(
                    "{} (the RFC names a status only as an example)",
                    first_line(&head.head)
                ),
            ));
        }
        return Ok((Vec::new(), open));
    }
    let fail = |kind, observed: String| Err(Problem::new(kind, "4.2.2", want.clone(), observed));
    if status != 101 {
        return fail("refused-valid-request", first_line(&head.head));
    }
    if !has_token(header(headers, "Upgrade"), "websocket") {
        return fail(
            "bad-upgrade-header",
            format!("Upgrade: {:?}", header(headers, "Upgrade")),
        );
    }
    if !has_token(header(headers, "Connection"), "upgrade") {
        return fail(
            "bad-connection-header",
            format!("Connection: {:?}", header(headers, "Connection")),
        );
    }
    let accept = crate::handshake::accept_key(key);
    if header(headers, "Sec-WebSocket-Accept") != Some(accept.as_str()) {
        return fail(
            "bad-accept",
            format!(
                "Sec-WebSocket-Accept: {:?}",
                header(headers, "Sec-WebSocket-Accept")
            ),
        );
    }
    let mut req_headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut req_headers);
    let _ = req.parse(request);
    let offered: Vec<String> = req
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("Sec-WebSocket-Protocol"))
        .flat_map(|h| {
            String::from_utf8_lossy(h.value)
                .split(',')
                .map(|p| String::from(p.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    if let Some(p) = header(headers, "Sec-WebSocket-Protocol")
        && !offered.iter().any(|o| o == p)
    {
        return fail("unoffered-protocol", format!("Sec-WebSocket-Protocol: {p}"));
    }
    if let Some(e) = header(headers, "Sec-WebSocket-Extensions") {
        return fail(
            "unoffered-extension",
            format!("Sec-WebSocket-Extensions: {e}"),
        );
    }
    Ok((head.rest, open))
}

/// Checks a client's upgrade request with the oracle; returns its key.
pub(crate) fn check_request(request: &[u8]) -> Result<String, Problem> {
    if let Err((status, error)) = oracle_on_request(request) {
        return Err(Problem::new(
            "bad-request",
            "4.1",
            "a valid upgrade request",
            format!(
                "{error} (a server answers {status}): {:?}",
                first_line(request)
            ),
        ));
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let _ = req.parse(request);
    Ok(header(req.headers, "Sec-WebSocket-Key")
        .map(String::from)
        .unwrap_or_default())
}

/// Judges a client after a response it must refuse (§4.1: "the client MUST _Fail
/// the WebSocket Connection_"): it sends no frame and closes the TCP connection.
pub(crate) fn judge_failed_opening(response: &[u8], seen: &Observed) -> Judged {
    let want = format!(
        "fail the connection on {:?}: send nothing, close the TCP connection",
        first_line(response)
    );
    if !seen.items.is_empty() || seen.close.is_some() || seen.violation.is_some() {
        let what = if seen.items.is_empty() {
            String::from("sent frames")
        } else {
            super::judge::show(&seen.items)
        };
        return Judged::failed(Problem::new(
            "accepted-bad-handshake",
            "4.1",
            want,
            format!("it went on as if open: {what}"),
        ));
    }
    if seen.end == Some(End::Silent) {
        return Judged::failed(Problem::new(
            "kept-open",
            "4.1",
            want,
            "it kept the connection open, silent",
        ));
    }
    Judged::default()
}
