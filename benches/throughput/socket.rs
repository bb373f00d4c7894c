//! Stand-ins for `recv()` and `send()`: every library pays the same copies a real
//! socket costs. A read copies at most 64 KiB of the prepared input into the
//! reader's buffer; a write copies what it is given out into a scratch buffer (as
//! the kernel copies it into the socket's), or keeps it when a check wants to look.

use std::hint::black_box;
use std::io::{IoSlice, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The most one read returns, as a socket's receive buffer would.
pub const READ_SIZE: usize = 64 << 10;

/// A page, the unit a kernel's socket buffer is made of.
const PAGE: usize = 4096;

thread_local! {
    /// Where writes are copied to: one buffer for all sockets, as a kernel's copy
    /// does not depend on how many connections the library holds. Its first
    /// `READ_SIZE` bytes from a page boundary are used: where it lands must not
    /// depend on what the library allocated before its first write, since a copy's
    /// speed depends on how its source and destination lie within their pages
    /// (a heap-placed buffer made the same 1 MiB send of two libraries differ by
    /// 4 % only because each library's earlier allocations moved it).
    static SCRATCH: std::cell::RefCell<Vec<u8>> =
        std::cell::RefCell::new(vec![0; READ_SIZE + PAGE]);
}

pub struct Socket<'a> {
    input: &'a [u8],
    at: usize,
    /// Bytes written so far.
    pub written: usize,
    /// Everything written, when kept for a check.
    pub kept: Option<Vec<u8>>,
}

impl<'a> Socket<'a> {
    pub fn reading(input: &'a [u8]) -> Socket<'a> {
        Socket {
            input,
            at: 0,
            written: 0,
            kept: None,
        }
    }

    pub fn writing(keep: bool) -> Socket<'static> {
        Socket {
            input: &[],
            at: 0,
            written: 0,
            kept: keep.then(Vec::new),
        }
    }

    /// `recv()`: copies the next bytes (at most 64 KiB) into `buf`.
    pub fn recv(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(READ_SIZE).min(self.input.len() - self.at);
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        n
    }

    pub fn exhausted(&self) -> bool {
        self.at == self.input.len()
    }

    /// `send()`: copies `buf` out.
    pub fn send(&mut self, buf: &[u8]) -> usize {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let start = scratch.as_ptr().align_offset(PAGE);
            let scratch = &mut scratch[start..start + READ_SIZE];
            for piece in buf.chunks(READ_SIZE) {
                scratch[..piece.len()].copy_from_slice(piece);
                black_box(&scratch[..]);
            }
        });
        if let Some(kept) = &mut self.kept {
            kept.extend_from_slice(buf);
        }
        self.written += buf.len();
        buf.len()
    }
}

impl Read for Socket<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        Ok(self.recv(buf))
    }
}

impl Write for Socket<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(self.send(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> std::io::Result<usize> {
        Ok(bufs.iter().map(|b| self.send(b)).sum())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Socket<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let n = buf
            .remaining()
            .min(READ_SIZE)
            .min(this.input.len() - this.at);
        buf.put_slice(&this.input[this.at..this.at + n]);
        this.at += n;
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Socket<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(self.get_mut().send(buf)))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        Poll::Ready(Ok(bufs.iter().map(|b| this.send(b)).sum()))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
