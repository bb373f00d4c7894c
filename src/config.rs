//! Settings: limits and behaviour switches, each with a documented default.

use core::time::Duration;

use crate::handshake::server::OriginPolicy;

/// How received data messages reach the application.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Delivery {
    /// Reassemble each message and deliver it whole as
    /// [`Event::Message`](crate::Event::Message). The default.
    #[default]
    Whole,
    /// Deliver payload as it arrives as [`Event::Fragment`](crate::Event::Fragment),
    /// never holding more than one input chunk of it. For messages too big to buffer.
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
    /// Largest payload of a single received frame, in bytes. A larger declared length
    /// fails the connection with 1009 as soon as the header arrives, before any of the
    /// payload is buffered. Default: 16 MiB.
    pub max_frame_size: u64,
    /// Largest received message (the sum of its fragments), in bytes. Checked against
    /// each frame's declared length before its payload arrives; exceeding it fails the
    /// connection with 1009. Applies in [`Delivery::Streamed`] mode too.
    /// Default: 64 MiB.
    pub max_message_size: u64,
    /// Most frames one received message may span. Empty fragments cost no memory but
    /// do cost work, so their number is capped; exceeding it fails the connection with
    /// 1008. Default: 131,072 (a 4 MiB message in 32-byte fragments).
    pub max_fragments: u32,
    /// Most bytes of output (frame headers included) that may wait to be written.
    /// A send that would go past it is refused with
    /// [`SendError::BufferFull`](crate::SendError::BufferFull) and nothing is queued.
    /// Pongs and close frames the connection queues on its own bypass the check; they
    /// are bounded: beyond the limit there are at most two pongs and one close frame,
    /// each at most 139 bytes (the fuzz targets check this bound).
    /// Default: 128 MiB, twice the message limit, so that echoing the largest message
    /// the connection accepts always fits.
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
    /// Default: 64.
    pub max_headers: usize,
    /// Which `Origin` values a server accepts; others are answered with 403 before
    /// the application sees the request. Default: [`OriginPolicy::Any`].
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
    /// failing with [`Timeout::Pong`](crate::Timeout::Pong). Default: off.
    pub pong_timeout: Option<Duration>,
    /// Fail with [`Timeout::Idle`](crate::Timeout::Idle) when nothing has been
    /// received for this long while OPEN. Default: off.
    pub idle_timeout: Option<Duration>,
    /// How long to wait for the peer's close frame after ours, and then for the end of
    /// the transport after the closing handshake (§7.1.1). On expiry the connection
    /// says [`TransportAction::Close`](crate::TransportAction::Close). Default: 10 s;
    /// on, because without it a peer that never answers holds the connection forever.
    pub close_timeout: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
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
            close_timeout: Some(Duration::from_secs(10)),
        }
    }
}
