//! What a probe found, as text, Markdown and JSON.

use std::format;
use std::string::String;
use std::time::Duration;
use std::vec::Vec;

use crate::oracle::{hex, json_string};

use super::case::{Case, Class, Opening};
use super::judge::Problem;
use super::{Settings, Tallies};

/// Cases run in a class, and how many failed or had open findings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Cases run.
    pub run: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases with an open finding.
    pub open: usize,
}

/// One failure (shrunk) or open finding, with a minimal example.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// A failure (else an open finding).
    pub failure: bool,
    /// The case class: `valid`, `violation/wrong-masking`, ...
    pub class: String,
    /// What went wrong: `wrong-close-code`, `missing-pong`, ...
    pub kind: &'static str,
    /// The RFC 6455 section.
    pub section: &'static str,
    /// How many cases showed it.
    pub hits: usize,
    /// The first case that showed it.
    pub first_case: usize,
    /// The handshake sent, for handshake classes.
    pub handshake: Option<String>,
    /// The stream after the handshake, in hex (the junk after a violation is sent
    /// only once the peer has answered the violation).
    pub hex: String,
    /// How the writes fell.
    pub delivery: String,
    /// The length of the stream as first drawn, before shrinking.
    pub original_bytes: usize,
    /// What the RFC requires (through the oracle).
    pub expected: String,
    /// What the peer did.
    pub observed: String,
    /// Runs spent shrinking.
    pub shrink_runs: usize,
    /// Reruns of the shrunk case that failed the same way, of how many.
    pub reproduced: Option<(usize, usize)>,
}

impl Finding {
    pub(crate) fn new(
        case: &Case,
        problem: &Problem,
        failure: bool,
        index: usize,
        shrink_runs: usize,
        reproduced: Option<(usize, usize)>,
    ) -> Finding {
        let handshake = match &case.opening {
            Opening::Request(r) | Opening::BadRequest(r) => {
                Some(String::from_utf8_lossy(r).into_owned())
            }
            Opening::Response(seed) => Some(format!("a valid 101 drawn with seed {seed}")),
            Opening::BadResponse(seed) => {
                Some(format!("an invalid response drawn with seed {seed}"))
            }
            Opening::Plain => None,
        };
        let stream = [&case.prefix[..], &case.tail, &case.junk].concat();
        Finding {
            failure,
            class: case.class.name(),
            kind: problem.kind,
            section: problem.section,
            hits: 1,
            first_case: index,
            handshake,
            hex: hex(&stream),
            delivery: format!("{:?}", case.delivery),
            original_bytes: stream.len(),
            expected: problem.expected.clone(),
            observed: problem.observed.clone(),
            shrink_runs,
            reproduced,
        }
    }

    /// The finding as a few lines of text.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{} [{}] {} (§{}), {} case(s), first case {}\n",
            if self.failure { "FAIL" } else { "OPEN" },
            self.class,
            self.kind,
            self.section,
            self.hits,
            self.first_case
        );
        if let Some(h) = &self.handshake {
            out.push_str(&format!("  handshake: {h:?}\n"));
        }
        out.push_str(&format!("  sent (hex): {}\n", short_hex(&self.hex)));
        out.push_str(&format!("  delivery:   {}\n", self.delivery));
        out.push_str(&format!("  expected:   {}\n", self.expected));
        out.push_str(&format!("  observed:   {}\n", self.observed));
        match self.reproduced {
            Some((r, of)) if self.original_bytes > 0 => out.push_str(&format!(
                "  shrunk from {} to {} bytes in {} runs; reproduced {r} of {of} reruns\n",
                self.original_bytes,
                self.hex.len() / 2,
                self.shrink_runs
            )),
            Some((r, of)) => out.push_str(&format!("  reproduced {r} of {of} reruns\n")),
            None => {}
        }
        out
    }

    fn to_json(&self) -> String {
        format!(
            r#"{{"failure":{},"class":{},"kind":{},"section":{},"hits":{},"first_case":{},"handshake":{},"hex":"{}","delivery":{},"expected":{},"observed":{},"original_bytes":{},"shrink_runs":{},"reproduced":{}}}"#,
            self.failure,
            json_string(&self.class),
            json_string(self.kind),
            json_string(self.section),
            self.hits,
            self.first_case,
            self.handshake
                .as_deref()
                .map_or(String::from("null"), json_string),
            self.hex,
            json_string(&self.delivery),
            json_string(&self.expected),
            json_string(&self.observed),
            self.original_bytes,
            self.shrink_runs,
            self.reproduced
                .map_or(String::from("null"), |(r, of)| format!("[{r},{of}]")),
        )
    }
}

/// Hex, cut at 256 bytes.
fn short_hex(hex: &str) -> String {
    if hex.len() > 512 {
        format!("{}… ({} bytes)", &hex[..512], hex.len() / 2)
    } else if hex.is_empty() {
        String::from("(nothing)")
    } else {
        String::from(hex)
    }
}

/// The result of a probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// What was probed.
    pub target: String,
    /// `server` or `client`.
    pub mode: &'static str,
    /// The seed.
    pub seed: u64,
    /// Cases run (shrinking and reruns not counted).
    pub cases: usize,
    /// Cases that passed.
    pub passed: usize,
    /// Counts by class.
    pub tallies: Tallies,
    /// One finding per class and kind of failure, shrunk.
    pub failures: Vec<Finding>,
    /// One finding per class and kind where the peer chose differently from the
    /// oracle within what the RFC allows.
    pub open: Vec<Finding>,
    /// Wall time.
    pub elapsed: Duration,
    /// Why it stopped before running every case, if it did.
    pub stopped: Option<String>,
}

impl Report {
    pub(crate) fn new(target: String, mode: &'static str, seed: u64) -> Report {
        Report {
            target,
            mode,
            seed,
            cases: 0,
            passed: 0,
            tallies: Tallies::new(),
            failures: Vec::new(),
            open: Vec::new(),
            elapsed: Duration::ZERO,
            stopped: None,
        }
    }

    pub(crate) fn stopped(mode: &'static str, settings: &Settings, why: String) -> Report {
        let mut r = Report::new(String::new(), mode, settings.seed);
        r.stopped = Some(why);
        r
    }

    /// Whether a failure of this class and kind is known already; if so, counts it.
    /// Kinds that say nothing of the class (a missing pong, a lost echo) are one
    /// finding whatever class the case was drawn from.
    pub(crate) fn count_known(&mut self, class: Class, kind: &str) -> bool {
        let name = class.name();
        let any_class = matches!(
            kind,
            "missing-pong"
                | "wrong-pong"
                | "missing-echo"
                | "wrong-echo"
                | "extra-message"
                | "peer-broke-protocol"
                | "unreachable"
        );
        match self
            .failures
            .iter_mut()
            .find(|f| (any_class || f.class == name) && f.kind == kind)
        {
            Some(f) => {
                f.hits += 1;
                true
            }
            None => false,
        }
    }

    /// Records an open finding, keeping the shortest example of each class and kind.
    pub(crate) fn note_open(&mut self, class: Class, problem: &Problem, case: &Case, index: usize) {
        let finding = Finding::new(case, problem, false, index, 0, None);
        let name = class.name();
        match self
            .open
            .iter_mut()
            .find(|f| f.class == name && f.kind == problem.kind)
        {
            Some(f) => {
                let hits = f.hits + 1;
                if finding.hex.len() < f.hex.len() {
                    *f = Finding {
                        hits,
                        first_case: f.first_case,
                        ..finding
                    };
                } else {
                    f.hits = hits;
                }
            }
            None => self.open.push(finding),
        }
    }

    /// A summary line.
    pub fn summary(&self) -> String {
        format!(
            "{} ({}): {} cases, {} passed, {} failed in {} ways, {} open findings; seed {}, {:.1} s{}",
            self.target,
            self.mode,
            self.cases,
            self.passed,
            self.cases - self.passed,
            self.failures.len(),
            self.open.len(),
            self.seed,
            self.elapsed.as_secs_f64(),
            self.stopped
                .as_deref()
                .map_or(String::new(), |s| format!("; stopped: {s}"))
        )
    }

    /// The report in Markdown: the summary, a table by class, then each failure and
    /// open finding with its minimal example.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "### {} ({})\n\n{}\n\n",
            self.target,
            self.mode,
            self.summary()
        );
        out.push_str("| class | cases | failed | open |\n|---|---|---|---|\n");
        for (class, t) in &self.tallies {
            out.push_str(&format!(
                "| {class} | {} | {} | {} |\n",
                t.run, t.failed, t.open
            ));
        }
        for (title, list) in [
            ("Failures", &self.failures),
            ("Open (the RFC allows either)", &self.open),
        ] {
            if list.is_empty() {
                continue;
            }
            out.push_str(&format!("\n{title}:\n\n"));
            for f in list {
                out.push_str("```text\n");
                out.push_str(&f.to_text());
                out.push_str("```\n");
            }
        }
        out
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        let tallies: Vec<String> = self
            .tallies
            .iter()
            .map(|(c, t)| {
                format!(
                    r#"{}:{{"run":{},"failed":{},"open":{}}}"#,
                    json_string(c),
                    t.run,
                    t.failed,
                    t.open
                )
            })
            .collect();
        let list = |l: &[Finding]| {
            let items: Vec<String> = l.iter().map(Finding::to_json).collect();
            format!("[{}]", items.join(","))
        };
        format!(
            r#"{{"target":{},"mode":"{}","seed":{},"cases":{},"passed":{},"classes":{{{}}},"failures":{},"open":{},"seconds":{:.3},"stopped":{}}}"#,
            json_string(&self.target),
            self.mode,
            self.seed,
            self.cases,
            self.passed,
            tallies.join(","),
            list(&self.failures),
            list(&self.open),
            self.elapsed.as_secs_f64(),
            self.stopped
                .as_deref()
                .map_or(String::from("null"), json_string)
        )
    }
}
