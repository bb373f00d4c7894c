//! What the peer did, against what the oracle says it must do.

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use crate::oracle::{OracleEvent, hex};
use crate::strategies::Violation;

use super::case::{Class, Expectation, ExpectedClose};

/// One way the peer's behaviour differs from RFC 6455's requirement (a failure) or
/// from the oracle's choice where the RFC leaves one open (an open finding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// A stable name: `wrong-close-code`, `missing-pong`, ...
    pub kind: &'static str,
    /// The RFC 6455 section that decides it.
    pub section: &'static str,
    /// What the RFC (through the oracle) asks for.
    pub expected: String,
    /// What the peer did.
    pub observed: String,
}

impl Problem {
    pub(crate) fn new(
        kind: &'static str,
        section: &'static str,
        expected: impl Into<String>,
        observed: impl Into<String>,
    ) -> Problem {
        Problem {
            kind,
            section,
            expected: expected.into(),
            observed: observed.into(),
        }
    }
}

/// The verdict on one case: at most one failure (the first found), and any number
/// of open findings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Judged {
    /// The first requirement the peer broke.
    pub fail: Option<Problem>,
    /// Where it chose differently from the oracle within what the RFC allows.
    pub open: Vec<Problem>,
}

impl Judged {
    pub(crate) fn failed(problem: Problem) -> Judged {
        Judged {
            fail: Some(problem),
            open: Vec::new(),
        }
    }

    fn fail(&mut self, problem: Problem) {
        if self.fail.is_none() {
            self.fail = Some(problem);
        }
    }
}

/// How the peer's side of the connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// It closed the TCP connection.
    Eof,
    /// The connection was reset, or a read failed.
    Reset(String),
    /// Nothing came for the time limit.
    Silent,
}

/// What the peer sent and did, as the prober's observing connection saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// Messages, pings and pongs, in order.
    pub items: Vec<OracleEvent>,
    /// The peer's close frame: its code (`None` for an empty body) and reason.
    pub close: Option<(Option<u16>, String)>,
    /// A violation of RFC 6455 in what the peer sent, in words.
    pub violation: Option<String>,
    /// The RFC section of that violation.
    pub violation_section: &'static str,
    /// How it ended.
    pub end: Option<End>,
    /// Whether the peer closed the TCP connection after the closing handshake
    /// (§7.1.1: the server should close first).
    pub closed_tcp: bool,
}

/// Short text for a list of events.
pub(crate) fn show(items: &[OracleEvent]) -> String {
    if items.is_empty() {
        return String::from("nothing");
    }
    let shown: Vec<String> = items.iter().take(6).map(show_one).collect();
    let more = items.len().saturating_sub(6);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn show_one(event: &OracleEvent) -> String {
    fn cut(s: &str) -> String {
        if s.chars().count() > 24 {
            format!("{}…", s.chars().take(24).collect::<String>())
        } else {
            String::from(s)
        }
    }
    match event {
        OracleEvent::Text(t) => format!("text({} B) {:?}", t.len(), cut(t)),
        OracleEvent::Binary(b) => format!("binary({} B) {}", b.len(), cut(&hex(b))),
        OracleEvent::Ping(b) => format!("ping {}", cut(&hex(b))),
        OracleEvent::Pong(b) => format!("pong {}", cut(&hex(b))),
        other => other.to_json(),
    }
}

fn show_close(close: &Option<(Option<u16>, String)>, end: &Option<End>) -> String {
    let frame = match close {
        Some((Some(code), reason)) => format!("a close frame {code} {reason:?}"),
        Some((None, _)) => String::from("an empty close frame"),
        None => String::from("no close frame"),
    };
    let end = match end {
        Some(End::Eof) | None => "the TCP connection closed",
        Some(End::Reset(_)) => "the TCP connection reset",
        Some(End::Silent) => "then silence",
    };
    format!("{frame}, {end}")
}

fn is_subsequence(small: &[Vec<u8>], big: &[Vec<u8>]) -> bool {
    let mut it = big.iter();
    small.iter().all(|s| it.any(|b| b == s))
}

/// Judges a stream exchange: what came back against the oracle's expectation for
/// the whole stream.
pub(crate) fn stream(class: Class, expect: &Expectation, seen: &Observed) -> Judged {
    let mut judged = Judged::default();
    if let Some(v) = &seen.violation {
        judged.fail(Problem::new(
            "peer-broke-protocol",
            seen.violation_section,
            "frames that follow RFC 6455",
            v.clone(),
        ));
    }
    let echoes: Vec<OracleEvent> = seen
        .items
        .iter()
        .filter(|e| matches!(e, OracleEvent::Text(_) | OracleEvent::Binary(_)))
        .cloned()
        .collect();
    let pongs: Vec<Vec<u8>> = seen
        .items
        .iter()
        .filter_map(|e| match e {
            OracleEvent::Pong(p) => Some(p.to_vec()),
            _ => None,
        })
        .collect();
    let section = match class {
        Class::Violation(v) => v.section(),
        Class::TwoViolations => "5.2",
        _ => "5.4",
    };

    if echoes != expect.echoes {
        let kind = if echoes.len() > expect.echoes.len()
            && echoes[..expect.echoes.len()] == expect.echoes[..]
        {
            if matches!(class, Class::Violation(_) | Class::TwoViolations) {
                "accepted-violation"
            } else {
                "extra-message"
            }
        } else if echoes.len() < expect.echoes.len() && expect.echoes[..echoes.len()] == echoes[..]
        {
            "missing-echo"
        } else {
            "wrong-echo"
        };
        let section = if kind == "accepted-violation" {
            section
        } else {
            "5.4"
        };
        judged.fail(Problem::new(
            kind,
            section,
            format!("echoes of {}", show(&expect.echoes)),
            format!("echoes of {}", show(&echoes)),
        ));
    }

    // How it ended.
    let ended = show_close(&seen.close, &seen.end);
    match &expect.close {
        ExpectedClose::Fail { code, also, error } => {
            let want = format!("fail the connection with close code {code} ({error})");
            match (&seen.close, &seen.end) {
                (Some((Some(c), _)), _) if c == code => {}
                (Some((Some(c), _)), _) if also.contains(c) => {
                    let kind = if class == Class::TwoViolations {
                        "order-of-checks"
                    } else {
                        "other-close-code"
                    };
                    judged.open.push(Problem::new(
                        kind,
                        "7.4.1",
                        want,
                        format!("close code {c}: also right, the RFC leaves the choice open"),
                    ));
                }
                (Some(_), _) => judged.fail(Problem::new(
                    "wrong-close-code",
                    if class == Class::Violation(Violation::InvalidUtf8) {
                        "8.1"
                    } else {
                        "7.4.1"
                    },
                    want,
                    format!("{}; {ended}", show(&seen.items)),
                )),
                (None, Some(End::Silent)) => judged.fail(Problem::new(
                    "not-failed",
                    section,
                    want,
                    format!("{}; {ended}", show(&seen.items)),
                )),
                (None, _) => judged.open.push(Problem::new(
                    "dropped-without-close",
                    "7.1.7",
                    want,
                    format!("{ended} (a close frame is a SHOULD, not a MUST)"),
                )),
            }
        }
        ExpectedClose::Answer(code) => {
            let want = match code {
                Some(c) => format!("answer the close with a close frame (the oracle echoes {c})"),
                None => String::from("answer the empty close with a close frame"),
            };
            match &seen.close {
                Some((c, _)) if c == code => {}
                Some((c, _)) => judged.open.push(Problem::new(
                    "close-code-not-echoed",
                    "5.5.1",
                    want,
                    format!(
                        "answered with {} (§5.5.1: the code is typically echoed, not must)",
                        c.map_or(String::from("an empty body"), |c| c.to_string())
                    ),
                )),
                None => judged.fail(Problem::new(
                    "close-not-answered",
                    "5.5.1",
                    want,
                    format!("{}; {ended}", show(&seen.items)),
                )),
            }
            if seen.close.is_some() && !seen.closed_tcp {
                judged.open.push(Problem::new(
                    "tcp-left-open",
                    "7.1.1",
                    "the server closes the TCP connection after the closing handshake",
                    "it was still open at the time limit (a SHOULD)",
                ));
            }
        }
        ExpectedClose::Open => {}
    }

    if pongs != expect.pongs {
        let latest_only = !pongs.is_empty()
            && pongs.last() == expect.pongs.last()
            && is_subsequence(&pongs, &expect.pongs);
        let shown = |p: &[Vec<u8>]| {
            let items: Vec<String> = p.iter().map(|b| format!("pong {}", hex(b))).collect();
            if items.is_empty() {
                String::from("no pong")
            } else {
                items.join(", ")
            }
        };
        if latest_only {
            judged.open.push(Problem::new(
                "pong-for-latest-only",
                "5.5.3",
                shown(&expect.pongs),
                format!(
                    "{} (§5.5.3 allows answering only the latest ping)",
                    shown(&pongs)
                ),
            ));
        } else {
            judged.fail(Problem::new(
                if pongs.len() < expect.pongs.len() {
                    "missing-pong"
                } else {
                    "wrong-pong"
                },
                "5.5.2",
                shown(&expect.pongs),
                shown(&pongs),
            ));
        }
    }
    judged
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::vec;

    fn expect(close: ExpectedClose) -> Expectation {
        Expectation {
            echoes: vec![OracleEvent::Text(String::from("hi"))],
            pongs: vec![b"a".to_vec(), b"b".to_vec()],
            close,
        }
    }

    fn seen(items: Vec<OracleEvent>, close: Option<u16>, end: End) -> Observed {
        Observed {
            items,
            close: close.map(|c| (Some(c), String::new())),
            end: Some(end),
            closed_tcp: true,
            ..Observed::default()
        }
    }

    fn pong(p: &[u8]) -> OracleEvent {
        OracleEvent::Pong(Bytes::copy_from_slice(p))
    }

    #[test]
    fn a_faithful_peer_passes_and_each_difference_is_named() {
        let text = OracleEvent::Text(String::from("hi"));
        let fail = ExpectedClose::Fail {
            code: 1002,
            also: vec![],
            error: String::from("x"),
        };
        let class = Class::Violation(Violation::WrongMasking);
        let good = vec![text.clone(), pong(b"a"), pong(b"b")];
        let ok = stream(
            class,
            &expect(fail.clone()),
            &seen(good.clone(), Some(1002), End::Eof),
        );
        assert_eq!(ok, Judged::default());

        let kind = |j: Judged| j.fail.map(|p| p.kind);
        let wrong = stream(
            class,
            &expect(fail.clone()),
            &seen(good.clone(), Some(1000), End::Eof),
        );
        assert_eq!(kind(wrong), Some("wrong-close-code"));
        let silent = stream(
            class,
            &expect(fail.clone()),
            &seen(good.clone(), None, End::Silent),
        );
        assert_eq!(kind(silent), Some("not-failed"));
        let dropped = stream(
            class,
            &expect(fail.clone()),
            &seen(good.clone(), None, End::Eof),
        );
        assert_eq!(dropped.fail, None);
        assert_eq!(dropped.open[0].kind, "dropped-without-close");
        let mut extra = good.clone();
        extra.push(OracleEvent::Text(String::from("hi")));
        let accepted = stream(
            class,
            &expect(fail.clone()),
            &seen(extra, Some(1002), End::Eof),
        );
        assert_eq!(kind(accepted), Some("accepted-violation"));
        let no_pong = stream(
            class,
            &expect(fail.clone()),
            &seen(vec![text.clone()], Some(1002), End::Eof),
        );
        assert_eq!(kind(no_pong), Some("missing-pong"));
        let latest = stream(
            class,
            &expect(fail),
            &seen(vec![text.clone(), pong(b"b")], Some(1002), End::Eof),
        );
        assert_eq!(latest.fail, None);
        assert_eq!(latest.open[0].kind, "pong-for-latest-only");

        let answer = ExpectedClose::Answer(Some(4000));
        let other = stream(
            Class::Valid,
            &expect(answer.clone()),
            &seen(good.clone(), Some(1000), End::Eof),
        );
        assert_eq!(
            (other.fail, other.open[0].kind),
            (None, "close-code-not-echoed")
        );
        let unanswered = stream(
            Class::Valid,
            &expect(answer),
            &seen(good, None, End::Silent),
        );
        assert_eq!(kind(unanswered), Some("close-not-answered"));
    }
}
