//! The stream `connect` opens: plain TCP for `ws://`, TLS over TCP for `wss://`
//! (feature `rustls`).

#[cfg(feature = "rustls")]
use std::boxed::Box;
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;

/// A TCP stream, or (feature `rustls`) a TLS stream over one.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`, the client side.
    #[cfg(feature = "rustls")]
    ClientTls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    /// A TLS server's side.
    #[cfg(feature = "rustls")]
    ServerTls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl MaybeTlsStream {
    /// The TCP socket under the stream.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(s) => s,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::ClientTls(s) => s.get_ref(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::ServerTls(s) => s.get_ref(),
        }
    }
}

impl Read for MaybeTlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.read(buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::ClientTls(s) => s.read(buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::ServerTls(s) => s.read(buf),
        }
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.write(buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::ClientTls(s) => s.write(buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::ServerTls(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.write_vectored(bufs),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::ClientTls(s) => s.write_vectored(bufs),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::ServerTls(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(s) => s.flush(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::ClientTls(s) => s.flush(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::ServerTls(s) => s.flush(),
        }
    }
}
