//! The stream `connect` opens: plain TCP for `ws://`, TLS over TCP for `wss://`
//! (feature `tokio-rustls`).

#[cfg(feature = "tokio-rustls")]
use std::boxed::Box;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::net::TcpStream;

/// A TCP stream, or (feature `tokio-rustls`) a TLS stream over one.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`, the client side.
    #[cfg(feature = "tokio-rustls")]
    ClientTls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// A TLS server's side.
    #[cfg(feature = "tokio-rustls")]
    ServerTls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl MaybeTlsStream {
    /// The TCP socket under the stream.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(s) => s,
            #[cfg(feature = "tokio-rustls")]
            MaybeTlsStream::ClientTls(s) => s.get_ref().0,
            #[cfg(feature = "tokio-rustls")]
            MaybeTlsStream::ServerTls(s) => s.get_ref().0,
        }
    }
}

/// Calls `$method` on whichever stream is inside.
macro_rules! each {
    ($self:ident, $s:ident => $call:expr) => {
        match $self.get_mut() {
            MaybeTlsStream::Plain($s) => $call,
            #[cfg(feature = "tokio-rustls")]
            MaybeTlsStream::ClientTls($s) => $call,
            #[cfg(feature = "tokio-rustls")]
            MaybeTlsStream::ServerTls($s) => $call,
        }
    };
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "tokio-rustls")]
            MaybeTlsStream::ClientTls(s) => s.is_write_vectored(),
            #[cfg(feature = "tokio-rustls")]
            MaybeTlsStream::ServerTls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}
