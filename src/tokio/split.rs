//! Reader and writer halves for two tasks. Both lock the one driver for the length
//! of a poll (never across an await), and poll it as the receiver or the sender
//! (see [`Driver::with_waker`]), so that neither takes the other's wakeup away.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite};
use futures_core::Stream;
use futures_sink::Sink;

use super::driver::{Driver, READER, WRITER};
use super::{Error, WebSocketStream, flush, poll_close, poll_message, stream_item};
use crate::{CloseCode, Connection, Event, Message, MessageKind};

struct Shared<S> {
    driver: Mutex<Driver<S>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Shared<S> {
    /// Runs a poll of the driver for `half`, with the waker of both halves.
    fn poll<T>(
        &self,
        half: usize,
        cx: &Context<'_>,
        f: impl FnOnce(&mut Driver<S>, &mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        self.lock().with_waker(half, cx, f)
    }
}

impl<S> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, Driver<S>> {
        // A panic in another task's poll leaves the driver as consistent as any
        // returned poll does: every step of it completes before the next begins.
        self.driver.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(super) fn split<S>(driver: Driver<S>) -> (ReadHalf<S>, WriteHalf<S>) {
    let shared = Arc::new(Shared {
        driver: Mutex::new(driver),
    });
    (
        ReadHalf {
            shared: Arc::clone(&shared),
            ended: false,
        },
        WriteHalf { shared },
    )
}

/// The receiving half of a [`WebSocketStream`], from
/// [`split`](WebSocketStream::split). Receiving also writes out what the
/// connection answers on its own (pongs, the close reply) and drives the deadlines:
/// keep a task in [`recv`](Self::recv).
pub struct ReadHalf<S> {
    shared: Arc<Shared<S>>,
    ended: bool,
}

/// The sending half of a [`WebSocketStream`], from
/// [`split`](WebSocketStream::split).
pub struct WriteHalf<S> {
    shared: Arc<Shared<S>>,
}

impl<S> core::fmt::Debug for ReadHalf<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReadHalf").finish_non_exhaustive()
    }
}

impl<S> core::fmt::Debug for WriteHalf<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WriteHalf").finish_non_exhaustive()
    }
}

/// [`ReadHalf::reunite`] was given halves of two different streams.
pub struct ReuniteError<S>(pub ReadHalf<S>, pub WriteHalf<S>);

impl<S> core::fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("ReuniteError").finish_non_exhaustive()
    }
}

impl<S> core::fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the halves belong to different streams")
    }
}

impl<S> std::error::Error for ReuniteError<S> {}

impl<S: AsyncRead + AsyncWrite + Unpin> ReadHalf<S> {
    /// Waits for the next data message, as [`WebSocketStream::recv`]. Cancel-safe.
    pub async fn recv(&mut self) -> Result<Message, Error> {
        std::future::poll_fn(|cx| self.shared.poll(READER, cx, poll_message)).await
    }

    /// Waits for the next event of any kind, as [`WebSocketStream::recv_event`].
    /// Cancel-safe.
    pub async fn recv_event(&mut self) -> Result<Event, Error> {
        std::future::poll_fn(|cx| {
            self.shared.poll(READER, cx, |d, cx| {
                d.poll_event(cx)
                    .map(|r| r.and_then(|e| e.ok_or(Error::AlreadyClosed)))
            })
        })
        .await
    }

    /// Runs `f` on the sans-I/O connection (for a getter, or a command the halves
    /// do not offer: what it queues goes out as the halves are driven).
    pub fn with_connection<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        let mut driver = self.shared.lock();
        let result = f(&mut driver.conn);
        // What it did may change what the connection waits for.
        driver.wake_all();
        result
    }

    /// Puts the halves of one stream back together.
    pub fn reunite(self, writer: WriteHalf<S>) -> Result<WebSocketStream<S>, ReuniteError<S>> {
        if !Arc::ptr_eq(&self.shared, &writer.shared) {
            return Err(ReuniteError(self, writer));
        }
        drop(writer);
        let shared = Arc::into_inner(self.shared).expect("both halves were given");
        let driver = shared
            .driver
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        Ok(WebSocketStream::from_driver(driver))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WriteHalf<S> {
    /// Queues a message and waits until it is written out, as
    /// [`WebSocketStream::send`].
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.feed(message).await?;
        self.flush().await
    }

    /// Queues a message once there is room under the write bound, as
    /// [`WebSocketStream::feed`].
    pub async fn feed(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        std::future::poll_fn(|cx| self.shared.poll(WRITER, cx, Driver::poll_ready)).await?;
        self.shared.lock().conn.send(message)?;
        Ok(())
    }

    /// Queues one fragment of a message sent piece by piece and writes it out.
    pub async fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: impl Into<bytes::Bytes>,
        last: bool,
    ) -> Result<(), Error> {
        let data = data.into();
        std::future::poll_fn(|cx| self.shared.poll(WRITER, cx, Driver::poll_ready)).await?;
        self.shared.lock().conn.send_fragment(kind, data, last)?;
        self.flush().await
    }

    /// Sends a ping and writes it out.
    pub async fn ping(&mut self, payload: impl Into<bytes::Bytes>) -> Result<(), Error> {
        {
            let mut driver = self.shared.lock();
            let now = driver.now();
            driver.conn.ping(now, payload)?;
            driver.wake_all();
        }
        self.flush().await
    }

    /// Writes out everything queued and flushes the stream.
    pub async fn flush(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| {
            self.shared
                .poll(WRITER, cx, |d, cx| d.poll_write_until(cx, 0))
        })
        .await
    }

    /// Sends a close frame and writes it out. The rest of the closing handshake
    /// (the peer's answer, the end of the transport) is the reader's: its `recv`
    /// reports `Closed` when it is done.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        {
            let mut driver = self.shared.lock();
            let now = driver.now();
            driver.conn.close(now, code, reason)?;
            driver.wake_all();
        }
        self.flush().await
    }

    /// Runs `f` on the sans-I/O connection.
    pub fn with_connection<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        let mut driver = self.shared.lock();
        let result = f(&mut driver.conn);
        // What it did may change what the connection waits for.
        driver.wake_all();
        result
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for ReadHalf<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        this.shared
            .poll(READER, cx, poll_message)
            .map(|r| stream_item(r, &mut this.ended))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WriteHalf<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.shared.poll(WRITER, cx, Driver::poll_ready)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.shared.lock().conn.send(item)?;
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.shared.poll(WRITER, cx, flush)
    }

    /// Sends a close frame with 1000 (once) and writes it out; the reader sees the
    /// rest of the closing handshake, as with [`WriteHalf::close`].
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.shared.poll(WRITER, cx, poll_close)
    }
}
