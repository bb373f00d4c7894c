//! Settings: limits and behaviour switches, each with a documented default.

use core::time::Duration;

use crate::handshake::HandshakeError;
use crate::handshake::server::{OriginPolicy, Request};

/// How received data messages reach the application.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum Delivery {
    /// Reassemble each message and deliver it whole as
    /// [`Event::Message`](crate::Event::Message). The default.
    #[default]
    Whole,
    /// Deliver payload as it arrives as [`Event::Fragment`](crate::Event::Fragment),
    /// never holding more than one input chunk of it. For messages too big to buffer:
    /// raise [`Config::max_message_size`] to the largest message you accept. A single
    /// frame may be that large too (browsers send each message as one frame), unless
    /// [`Config::max_frame_size`] is set lower.
    Streamed,
}

/// Connection settings.
///
/// Build from [`Config::default`] and change fields; the struct is
/// `#[non_exhaustive]` so that new settings can be added. For the timers, `None` and
/// a zero duration both mean off.
///
/// ```
/// let mut config = wsmachine::Config::default();
/// config.max_message_size = 1 << 20;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub struct Config {
    /// Largest payload of a single received frame, in bytes, when it should be lower
    /// than [`max_message_size`](Self::max_message_size). A larger declared length
    /// fails the connection with 1009 as soon as the header arrives, before any of the
    /// payload is buffered. Default: `None`: a frame is bounded by the message limit
    /// alone, since a frame is never buffered apart from its message (so a
    /// [`Delivery::Streamed`] connection takes a message sent as one large frame).
    pub max_frame_size: Option<u64>,
    /// Largest received message (the sum of its fragments), in bytes. Checked against
    /// each frame's declared length before its payload arrives; exceeding it fails the
    /// connection with 1009. The buffer of a message being reassembled never grows
    /// past it. Applies in [`Delivery::Streamed`] mode too. Default: 64 MiB.
    pub max_message_size: u64,
    /// Most frames one received message may span. Empty fragments cost no memory but
    /// do cost work, so their number is capped; exceeding it fails the connection with
    /// 1008. Default: 131,072 (a 4 MiB message in 32-byte fragments).
    pub max_fragments: u32,
    /// Most memory, in bytes, that output waiting to be written may hold: the queued
    /// frames' bytes on the wire plus the queue's bookkeeping (a record per large
    /// frame or run of small ones gathered together, and the unused room of the
    /// buffers they were gathered in), so a flood of tiny frames is bounded too, not
    /// only large ones; a send is checked as if its frame needed a record of its own.
    /// A send that would go past it
    /// is refused with [`SendError::BufferFull`](crate::SendError::BufferFull) and
    /// nothing is queued. Pongs and close frames the connection queues on its own
    /// bypass the check; they are bounded: beyond the limit there are at most two
    /// pongs and one close frame, each at most 139 bytes (the fuzz targets check this
    /// bound). Besides, and not counted: the room of the buffer small frames are
    /// being gathered in, and, on a client sending a large payload it still shares
    /// with the caller, the 64 KiB window that payload is masked into as it goes
    /// out (both at most 64 KiB, and freed when all output is written). Default:
    /// 128 MiB, twice the message limit, so that echoing the largest message the
    /// connection accepts always fits.
    pub max_buffered_output: usize,
    /// Answer each ping with a pong carrying the same payload (§5.5.2). Default: on.
    /// When off, pings are still reported and the application answers them with
    /// [`Connection::pong`](crate::Connection::pong).
    pub auto_pong: bool,
    /// How received messages are delivered. Default: [`Delivery::Whole`].
    pub delivery: Delivery,
    /// Largest opening-handshake head (request or response line plus header fields),
    /// in bytes. A server answers a longer request with 431; a client fails. Also
    /// bounds the body kept from a non-101 response, and the bytes a client may send
    /// after its request before the server application accepts it. Default: 16 KiB.
    pub max_handshake_size: usize,
    /// Most header fields in the opening handshake. A server answers more with 431.
    /// At most [`Config::MAX_HEADERS_LIMIT`]. Default: 64.
    pub max_headers: usize,
    /// Which `Origin` values a server accepts; others are answered with 403 before
    /// the application sees the request. Applied by [`Connection::server`], by
    /// [`Request::from_http`] and on the HTTP/2 path; a server whose upgrade was
    /// done elsewhere applies it with [`Config::check_request`]. Browsers let any
    /// site's page open a WebSocket to any server, with the user's cookies: only an
    /// origin policy stops that (§10.2). Default: [`OriginPolicy::Any`].
    ///
    /// [`Connection::server`]: crate::Connection::server
    /// [`Request::from_http`]: crate::Request
    pub origin_policy: OriginPolicy,
    /// How long the opening handshake may take, from the connection's creation to
    /// OPEN (for a server this includes the application's decision). On expiry the
    /// connection closes with [`Timeout::Handshake`](crate::Timeout::Handshake); a
    /// server still reading the request answers 408, one still waiting for the
    /// application answers 503. Default: 10 s; on, because a server without it keeps
    /// a socket for every client that connects and sends nothing.
    pub handshake_timeout: Option<Duration>,
    /// Send a keepalive ping when nothing has been received for this long. Any
    /// received bytes count as life, so a chatty peer is never pinged. Default: off.
    pub ping_interval: Option<Duration>,
    /// After a keepalive ping, how long to wait for anything from the peer before
    /// failing with [`Timeout::Pong`](crate::Timeout::Pong). Default: `None`, which
    /// means the same as `ping_interval`, so that keepalive pings also detect a dead
    /// peer; a zero duration turns the check off.
    pub pong_timeout: Option<Duration>,
    /// Fail with [`Timeout::Idle`](crate::Timeout::Idle) when no data frame has been
    /// received whole for this long while OPEN. Control frames and bytes of an
    /// unfinished frame do not count: a connection kept up only by keepalive traffic
    /// or by a trickle of bytes is idle. (A single frame that takes longer than this
    /// to arrive ends the connection too.) Default: off.
    pub idle_timeout: Option<Duration>,
    /// Fail with [`Timeout::Write`](crate::Timeout::Write) when output has waited
    /// this long without any of it being written (see
    /// [`Connection::advance_transmit`](crate::Connection::advance_transmit)): a peer
    /// that stops reading cannot hold the connection's buffers forever. Default:
    /// 30 s.
    pub write_timeout: Option<Duration>,
    /// How long to wait for the peer's close frame after ours, and then for the end of
    /// the transport after the closing handshake (§7.1.1). On expiry the connection
    /// says [`TransportAction::Close`](crate::TransportAction::Close). Default: 10 s;
    /// on, because without it a peer that never answers holds the connection forever.
    pub close_timeout: Option<Duration>,
    /// permessage-deflate (RFC 7692): what a client offers and a server accepts, and
    /// how messages are compressed. Default: `None`, no compression. The message
    /// limit applies to the inflated size, checked while inflating.
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: None,
            max_message_size: 64 << 20,
            max_fragments: 1 << 17,
            max_buffered_output: 128 << 20,
            auto_pong: true,
            delivery: Delivery::Whole,
            max_handshake_size: 16 << 10,
            max_headers: 64,
            origin_policy: OriginPolicy::Any,
            handshake_timeout: Some(Duration::from_secs(10)),
            ping_interval: None,
            pong_timeout: None,
            idle_timeout: None,
            write_timeout: Some(Duration::from_secs(30)),
            close_timeout: Some(Duration::from_secs(10)),
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }
}

impl Config {
    /// The largest [`max_headers`](Self::max_headers) accepted: each header field
    /// slot costs memory in every handshake, and a head within any sane
    /// `max_handshake_size` holds far fewer fields.
    pub const MAX_HEADERS_LIMIT: usize = 4096;

    /// The largest [`max_handshake_size`](Self::max_handshake_size) accepted (1 MiB).
    pub const MAX_HANDSHAKE_LIMIT: usize = 1 << 20;

    /// Checks that every setting is usable; the connection constructors call it.
    ///
    /// ```
    /// let mut config = wsmachine::Config::default();
    /// config.max_headers = 1 << 40;
    /// let error = config.validate().unwrap_err();
    /// assert_eq!(error.setting, "max_headers");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let check = |setting, value: u64, min: u64, max: u64| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError {
                    setting,
                    value,
                    min,
                    max,
                })
            }
        };
        let max_headers = Self::MAX_HEADERS_LIMIT as u64;
        check("max_headers", as_u64(self.max_headers), 1, max_headers)?;
        let max_head = Self::MAX_HANDSHAKE_LIMIT as u64;
        check(
            "max_handshake_size",
            as_u64(self.max_handshake_size),
            1,
            max_head,
        )?;
        check(
            "max_fragments",
            u64::from(self.max_fragments),
            1,
            u64::from(u32::MAX),
        )?;
        #[cfg(feature = "deflate")]
        if let Some((setting, value, min, max)) = self.deflate.as_ref().and_then(|d| d.invalid()) {
            return Err(ConfigError {
                setting,
                value,
                min,
                max,
            });
        }
        if self.delivery == Delivery::Whole {
            // A whole message lives in one buffer, which cannot exceed isize::MAX.
            let max = isize::MAX as u64;
            check("max_message_size", self.max_message_size, 0, max)?;
        }
        Ok(())
    }

    /// Applies the settings that concern the opening request (today the
    /// [`origin_policy`](Self::origin_policy)), for a server whose upgrade request was
    /// parsed elsewhere, before it answers and builds its connection with
    /// [`Connection::upgraded_server`](crate::Connection::upgraded_server). The
    /// answer to an error is [`HandshakeError::status`] (403 for the origin).
    pub fn check_request(&self, request: &Request) -> Result<(), HandshakeError> {
        self.origin_policy.check(request)
    }

    /// The pong timeout in force: the setting, else the ping interval.
    pub(crate) fn effective_pong_timeout(&self) -> Option<Duration> {
        self.pong_timeout.or(self.ping_interval)
    }

    /// The largest frame payload accepted.
    pub(crate) fn frame_limit(&self) -> u64 {
        self.max_frame_size.unwrap_or(u64::MAX)
    }
}

fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// A [`Config`] setting out of its allowed range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ConfigError {
    /// The field of [`Config`] at fault.
    pub setting: &'static str,
    /// Its value.
    pub value: u64,
    /// The smallest value allowed.
    pub min: u64,
    /// The largest value allowed.
    pub max: u64,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Config::{} is {}; it must be between {} and {}",
            self.setting, self.value, self.min, self.max
        )
    }
}

impl core::error::Error for ConfigError {}
