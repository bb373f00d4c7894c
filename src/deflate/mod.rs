//! permessage-deflate (RFC 7692): settings, negotiation in both roles, and the
//! per-message transform (in `codec`), on flate2 with its pure-Rust zlib-rs backend.
//!
//! Negotiation (§5, §7.1) is free-standing: [`negotiate`] is a server's choice among
//! a client's offers, [`DeflateConfig::offers`] a client's offers and
//! [`check_response`] its check of the server's answer. A [`Connection`] runs them
//! itself; a server that upgrades elsewhere calls [`negotiate`], adds the answer to
//! its 101 response and passes it in [`Negotiated`] to
//! [`Connection::upgraded_server`].
//!
//! Why this backend: a negotiated window smaller than 32 KiB must be honoured when
//! compressing (a peer with a 9-bit window cannot follow a longer back-reference),
//! and flate2 sets window bits only on a zlib-family backend; miniz_oxide, its
//! default, ignores them. zlib-rs is that family in Rust, with no C toolchain to
//! build with and memory safety on untrusted input, and it runs wherever the crate
//! does with `std`. flate2 panics on window bits outside 9..=15, so the codec clamps
//! every value it is given.
//!
//! zlib cannot compress raw deflate with an 8-bit window (it would silently use 9,
//! which a peer held to 8 could not inflate). So a direction limited to 8 bits is
//! accepted, since sending a message uncompressed is always allowed (§6), but this
//! crate never compresses in it; it inflates 8-bit streams with a 9-bit window,
//! which reads them unchanged.
//!
//! [`Connection`]: crate::Connection
//! [`Connection::upgraded_server`]: crate::Connection::upgraded_server
//! [`Negotiated`]: crate::Negotiated

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::handshake::Extension;

pub(crate) mod codec;

/// The extension's token.
pub const NAME: &str = "permessage-deflate";

const SERVER_NO_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_BITS: &str = "client_max_window_bits";

/// What to offer (a client) or accept (a server) of permessage-deflate, and how to
/// compress. Off unless [`Config::deflate`](crate::Config::deflate) is set.
///
/// The four negotiation settings name the RFC's parameters and mean the same in
/// both roles: what this endpoint asks the connection to use. A client offers them;
/// a server puts them in its answer whatever the client offered (the RFC lets a
/// server add each of them on its own, except `client_max_window_bits`, which a
/// server may only answer when the client offered it).
///
/// ```
/// use wsmachine::deflate::DeflateConfig;
/// let mut config = wsmachine::Config::default();
/// let mut deflate = DeflateConfig::default();
/// // A server trading ratio for memory: small windows, and no compression context
/// // kept between the client's messages.
/// deflate.server_max_window_bits = 10;
/// deflate.client_max_window_bits = 10;
/// deflate.client_no_context_takeover = true;
/// config.deflate = Some(deflate);
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub struct DeflateConfig {
    /// zlib compression level, 0 (stored) to 9 (smallest). Default: 6.
    pub level: u8,
    /// Messages shorter than this many bytes are sent uncompressed, which saves
    /// the work of compressing a few bytes (the RFC lets any message go
    /// uncompressed). Default: 0, every message compressed, as browsers do: some
    /// peers and test tools mishandle an uncompressed message on a compressed
    /// connection.
    pub min_size: usize,
    /// The server resets its compressor after every message: its side of the
    /// connection holds no compression context between messages. Default: off.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message, so the server holds no
    /// decompression context between them. Default: off.
    pub client_no_context_takeover: bool,
    /// Most window bits (8–15) the server compresses with; the client inflates with
    /// that window. Default: 15 (32 KiB).
    pub server_max_window_bits: u8,
    /// Most window bits (8–15) the client compresses with; the server inflates with
    /// that window. A server can only impose it on a client that offered the
    /// parameter (browsers do). Default: 15.
    pub client_max_window_bits: u8,
    /// Client: when the settings above restrict the server, also offer plain
    /// permessage-deflate after them, for a server that declines the restrictions.
    /// Default: on.
    pub fallback: bool,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            level: 6,
            min_size: 0,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            fallback: true,
        }
    }
}

impl DeflateConfig {
    /// A client's offers, most preferred first (§5.1): one with these settings, then,
    /// with [`fallback`](Self::fallback), a plain one if the first restricts the
    /// server.
    pub fn offers(&self) -> Vec<Extension> {
        let mut first = Extension::new(NAME);
        if self.server_no_context_takeover {
            first = first.param(SERVER_NO_TAKEOVER, None);
        }
        if self.client_no_context_takeover {
            first = first.param(CLIENT_NO_TAKEOVER, None);
        }
        if self.server_max_window_bits < 15 {
            first = first.param(
                SERVER_MAX_BITS,
                Some(&bits_str(self.server_max_window_bits)),
            );
        }
        // Always present: the server may then limit our window (§7.1.2.2).
        first = if self.client_max_window_bits < 15 {
            first.param(
                CLIENT_MAX_BITS,
                Some(&bits_str(self.client_max_window_bits)),
            )
        } else {
            first.param(CLIENT_MAX_BITS, None)
        };
        let restricts_server = self.server_no_context_takeover || self.server_max_window_bits < 15;
        let mut offers = alloc::vec![first];
        if self.fallback && restricts_server {
            let mut plain = Extension::new(NAME);
            if self.client_no_context_takeover {
                plain = plain.param(CLIENT_NO_TAKEOVER, None);
            }
            plain = if self.client_max_window_bits < 15 {
                plain.param(
                    CLIENT_MAX_BITS,
                    Some(&bits_str(self.client_max_window_bits)),
                )
            } else {
                plain.param(CLIENT_MAX_BITS, None)
            };
            offers.push(plain);
        }
        offers
    }

    /// The setting out of range, if one is: its name, value and bounds.
    pub(crate) fn invalid(&self) -> Option<(&'static str, u64, u64, u64)> {
        if self.level > 9 {
            return Some(("deflate.level", u64::from(self.level), 0, 9));
        }
        for (name, bits) in [
            (
                "deflate.server_max_window_bits",
                self.server_max_window_bits,
            ),
            (
                "deflate.client_max_window_bits",
                self.client_max_window_bits,
            ),
        ] {
            if !(8..=15).contains(&bits) {
                return Some((name, u64::from(bits), 8, 15));
            }
        }
        None
    }
}

fn bits_str(bits: u8) -> String {
    alloc::format!("{bits}")
}

/// What the handshake settled for permessage-deflate: the parameters in force,
/// with the RFC's defaults filled in (no parameter means context takeover and 15
/// window bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub struct DeflateParams {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// The server's window, 8–15 bits.
    pub server_max_window_bits: u8,
    /// The client's window, 8–15 bits.
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    fn default() -> Self {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}

impl DeflateParams {
    /// The answer a server sends for these parameters (§7.1): every parameter that
    /// differs from the default.
    pub fn to_extension(&self) -> Extension {
        let mut ext = Extension::new(NAME);
        if self.server_no_context_takeover {
            ext = ext.param(SERVER_NO_TAKEOVER, None);
        }
        if self.client_no_context_takeover {
            ext = ext.param(CLIENT_NO_TAKEOVER, None);
        }
        if self.server_max_window_bits < 15 {
            ext = ext.param(
                SERVER_MAX_BITS,
                Some(&bits_str(self.server_max_window_bits)),
            );
        }
        if self.client_max_window_bits < 15 {
            ext = ext.param(
                CLIENT_MAX_BITS,
                Some(&bits_str(self.client_max_window_bits)),
            );
        }
        ext
    }

    /// Reads the parameters of a server's answer (or of one an embedder passes in
    /// [`Negotiated`](crate::Negotiated)): each known parameter at most once, window
    /// bits with a value of 8–15.
    pub fn from_extension(ext: &Extension) -> Result<DeflateParams, DeflateError> {
        let p = Params::parse(ext)?;
        let bits = |b: Option<Option<u8>>| match b {
            None => Ok(15),
            Some(Some(bits)) => Ok(bits),
            Some(None) => Err(DeflateError::MissingValue(CLIENT_MAX_BITS)),
        };
        Ok(DeflateParams {
            server_no_context_takeover: p.server_no_takeover,
            client_no_context_takeover: p.client_no_takeover,
            server_max_window_bits: p.server_bits.unwrap_or(15),
            client_max_window_bits: bits(p.client_bits)?,
        })
    }
}

/// Why a permessage-deflate offer or answer is not acceptable (§7.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeflateError {
    /// A parameter the RFC does not define.
    UnknownParameter(String),
    /// A parameter given twice.
    DuplicateParameter(&'static str),
    /// A value where none is allowed, or window bits that are not 8–15.
    InvalidValue(&'static str),
    /// `server_max_window_bits` without a value, or `client_max_window_bits`
    /// without one in an answer.
    MissingValue(&'static str),
    /// An answer the client's offers do not allow: a parameter not offered where the
    /// RFC requires it to be (`client_max_window_bits`), a window larger than the
    /// one offered, or a restriction offered and left out.
    NotOffered,
    /// More than one permessage-deflate in the answer.
    Repeated,
}

impl fmt::Display for DeflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeflateError::UnknownParameter(p) => write!(f, "unknown parameter {p:?}"),
            DeflateError::DuplicateParameter(p) => write!(f, "parameter {p} given twice"),
            DeflateError::InvalidValue(p) => write!(f, "invalid value of {p}"),
            DeflateError::MissingValue(p) => write!(f, "{p} without a value"),
            DeflateError::NotOffered => f.write_str("answer does not match any offer"),
            DeflateError::Repeated => f.write_str("negotiated more than once"),
        }
    }
}

impl core::error::Error for DeflateError {}

/// The parameters of one offer or answer, as written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Params {
    server_no_takeover: bool,
    client_no_takeover: bool,
    /// `server_max_window_bits=N`: always with a value.
    server_bits: Option<u8>,
    /// `client_max_window_bits`, with or without a value.
    client_bits: Option<Option<u8>>,
}

impl Params {
    /// §7.1: each parameter at most once, known, with a valid value.
    fn parse(ext: &Extension) -> Result<Params, DeflateError> {
        let mut p = Params::default();
        let mut seen = [false; 4];
        for (name, value) in &ext.params {
            let (i, name) = match name.to_ascii_lowercase().as_str() {
                SERVER_NO_TAKEOVER => (0, SERVER_NO_TAKEOVER),
                CLIENT_NO_TAKEOVER => (1, CLIENT_NO_TAKEOVER),
                SERVER_MAX_BITS => (2, SERVER_MAX_BITS),
                CLIENT_MAX_BITS => (3, CLIENT_MAX_BITS),
                _ => return Err(DeflateError::UnknownParameter(name.clone())),
            };
            if core::mem::replace(&mut seen[i], true) {
                return Err(DeflateError::DuplicateParameter(name));
            }
            let bits = value
                .as_deref()
                .map(|v| window_bits(v).ok_or(DeflateError::InvalidValue(name)));
            match i {
                0 | 1 if value.is_some() => return Err(DeflateError::InvalidValue(name)),
                0 => p.server_no_takeover = true,
                1 => p.client_no_takeover = true,
                2 => p.server_bits = Some(bits.ok_or(DeflateError::MissingValue(name))??),
                _ => p.client_bits = Some(bits.transpose()?),
            }
        }
        Ok(p)
    }
}

/// A window-bits value: 8 to 15, written without leading zeros (§7.1.2.1's
/// grammar, `1*DIGIT` with the value 8–15).
fn window_bits(v: &str) -> Option<u8> {
    if v.starts_with('0') || v.is_empty() || v.len() > 2 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits: u8 = v.parse().ok()?;
    (8..=15).contains(&bits).then_some(bits)
}

/// A server's choice (§5.1, §7.1): the first permessage-deflate offer it can accept,
/// with `config` applied, as the extension to answer with and the parameters in
/// force; `None` when there is none (then the connection runs uncompressed). An
/// offer with an unknown, repeated or malformed parameter is declined, and the
/// next one considered.
///
/// ```
/// use wsmachine::deflate::{DeflateConfig, negotiate};
/// use wsmachine::handshake::Extension;
/// let offer = Extension::new("permessage-deflate").param("client_max_window_bits", None);
/// let mut config = DeflateConfig::default();
/// config.client_max_window_bits = 12;
/// let (answer, params) = negotiate(&[offer], &config).unwrap();
/// assert_eq!(answer.to_string(), "permessage-deflate; client_max_window_bits=12");
/// assert_eq!(params.client_max_window_bits, 12);
/// ```
pub fn negotiate(
    offers: &[Extension],
    config: &DeflateConfig,
) -> Option<(Extension, DeflateParams)> {
    offers
        .iter()
        .filter(|o| o.name.eq_ignore_ascii_case(NAME))
        .find_map(|offer| {
            let p = Params::parse(offer).ok()?;
            let client_bits = match p.client_bits {
                // The client lets the server pick its window (§7.1.2.2).
                Some(offered) => config.client_max_window_bits.min(offered.unwrap_or(15)),
                // It did not: it may use all 15 bits.
                None => 15,
            };
            let params = DeflateParams {
                server_no_context_takeover: p.server_no_takeover
                    || config.server_no_context_takeover,
                client_no_context_takeover: p.client_no_takeover
                    || config.client_no_context_takeover,
                server_max_window_bits: config
                    .server_max_window_bits
                    .min(p.server_bits.unwrap_or(15)),
                client_max_window_bits: client_bits,
            };
            let mut answer = params.to_extension();
            // An offered server window is answered even at 15 (§7.1.2.1).
            if p.server_bits.is_some() && params.server_max_window_bits == 15 {
                answer = answer.param(SERVER_MAX_BITS, Some("15"));
            }
            Some((answer, params))
        })
}

/// A client's check of the server's answer `ext` against its `offers` (§7.1): the
/// answer must be valid and acceptable for at least one permessage-deflate offer.
///
/// Returns the parameters in force. The answer does not say which offer it accepts,
/// and an offer's `client_no_context_takeover` or `client_max_window_bits=N` is a
/// promise the server may rely on without answering it (§7.1.1.2, §7.1.2.2): when an
/// offer that fits the answer made one, the client keeps it. (A sender that drops
/// its context or uses a smaller window is always understood.)
pub fn check_response(
    ext: &Extension,
    offers: &[Extension],
) -> Result<DeflateParams, DeflateError> {
    let answer = Params::parse(ext)?;
    let mut params = DeflateParams::from_extension(ext)?;
    let fits = |offer: &Extension| {
        let Ok(o) = Params::parse(offer) else {
            return false;
        };
        // §7.1.1.1 and §7.1.2.1: a restriction offered must be answered, the
        // server's window no larger than offered. A server window answered where
        // none was offered breaks §7.1.2.1 too, but only limits the server's own
        // compression, which any window inflates; common servers (Python
        // `websockets`) send one, so it is taken.
        (!o.server_no_takeover || answer.server_no_takeover)
            && match (o.server_bits, answer.server_bits) {
                (Some(offered), Some(b)) => b <= offered,
                (Some(_), None) => false,
                (None, _) => true,
            }
            // §7.1.2.2: only when offered, and no larger than an offered value.
            && match answer.client_bits {
                None => true,
                Some(b) => match o.client_bits {
                    None => false,
                    Some(None) => true,
                    Some(Some(offered)) => b.is_some_and(|b| b <= offered),
                },
            }
    };
    let mut fitted = false;
    for offer in offers.iter().filter(|o| o.name.eq_ignore_ascii_case(NAME)) {
        if !fits(offer) {
            continue;
        }
        fitted = true;
        if let Ok(o) = Params::parse(offer) {
            params.client_no_context_takeover |= o.client_no_takeover;
            if let Some(Some(bits)) = o.client_bits {
                params.client_max_window_bits = params.client_max_window_bits.min(bits);
            }
        }
    }
    if fitted {
        Ok(params)
    } else {
        Err(DeflateError::NotOffered)
    }
}

/// A client's check of all the extensions a server answered, against its offers:
/// permessage-deflate at most once, and acceptable.
pub(crate) fn check_answers(
    answers: &[Extension],
    offers: &[Extension],
) -> Result<(), crate::HandshakeError> {
    let invalid =
        |e: DeflateError| crate::HandshakeError::InvalidExtension(alloc::format!("{NAME}: {e}"));
    let mut ours = answers.iter().filter(|e| e.name.eq_ignore_ascii_case(NAME));
    if let Some(answer) = ours.next() {
        if ours.next().is_some() {
            return Err(invalid(DeflateError::Repeated));
        }
        check_response(answer, offers).map_err(invalid)?;
    }
    Ok(())
}

/// A client's parameters in force after the server answered `answers` to `offers`
/// (already checked by [`check_answers`]): `None` when permessage-deflate was not
/// answered.
pub(crate) fn in_force(answers: &[Extension], offers: &[Extension]) -> Option<DeflateParams> {
    let answer = answers.iter().find(|e| e.name.eq_ignore_ascii_case(NAME))?;
    check_response(answer, offers).ok()
}

/// Finds permessage-deflate among negotiated extensions: `Ok(None)` when absent.
pub(crate) fn find(extensions: &[Extension]) -> Result<Option<DeflateParams>, DeflateError> {
    let mut found = extensions
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(NAME));
    let Some(ext) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err(DeflateError::Repeated);
    }
    DeflateParams::from_extension(ext).map(Some)
}

#[cfg(test)]
mod tests;
