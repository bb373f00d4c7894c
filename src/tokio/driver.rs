//! The poll loop: the sans-I/O connection over an `AsyncRead + AsyncWrite`, its
//! deadlines on a tokio timer. Every piece of state lives here, none in a future, so
//! a caller may drop any future built on these polls at any await point and lose
//! nothing: bytes read are already inside the connection, events not yet returned
//! are still queued in it.

use std::boxed::Box;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker, ready};
use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::time::{Instant, Sleep};

use crate::glue_error::Error;
use crate::{Clock, Closed, Connection, ConnectionError, Event, State, Timestamp, TransportAction};

/// The most slices one vectored write takes.
const MAX_SLICES: usize = 64;

/// The wakers' slot of a task receiving, and of one sending (one task may be both).
pub(crate) const READER: usize = 0;
pub(crate) const WRITER: usize = 1;

/// The tasks waiting on a stream. The transport and the timer keep one waker each
/// (per direction), the last one they were polled with; polling them with a waker
/// that wakes every waiting task keeps one task's poll (the receiver writing a
/// pong, the sender arming the write deadline) from taking another's wakeup away,
/// whether the stream is used through its own halves or through
/// `futures::StreamExt::split`.
#[derive(Default)]
pub(crate) struct Wakers([Mutex<Option<Waker>>; 2]);

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        for slot in &self.0 {
            let waker = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// What is left to do with the transport after the connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Finish {
    /// The connection has not ended.
    Running,
    /// Ended: writing out the last output, shutting down, draining, as
    /// [`Connection::transport`] says, until the grace deadline.
    Ending,
    /// The transport is done with; the `Closed` event may go out.
    Done,
}

pub(crate) struct Driver<S> {
    pub(crate) io: S,
    pub(crate) conn: Connection,
    pub(crate) clock: Clock,
    /// The timer for the connection's next deadline, made on first use (so that a
    /// stream can be built outside a runtime) and kept.
    timer: Option<Pin<Box<Sleep>>>,
    timer_at: Option<Timestamp>,
    /// The largest read.
    read_size: usize,
    /// Sends wait while more than this is buffered.
    write_bound: usize,
    /// The `Closed` event, held back until the transport is done with.
    closed: Option<Box<Closed>>,
    finish: Finish,
    /// After the connection ended: the last output, the shutdown and the drain must
    /// be done by then.
    grace: Option<Timestamp>,
    shut_down: bool,
    /// The read side reached its end (or failed): nothing more is read.
    read_eof: bool,
    /// Bytes were written since the last flush of the stream.
    dirty: bool,
    /// A write failed: nothing more is written, but what the peer sent is still read.
    write_failed: bool,
    /// The waiting tasks and a waker for all of them, made on the first poll.
    wakers: Option<(Arc<Wakers>, Waker)>,
}

impl<S> core::fmt::Debug for Driver<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebSocketStream")
            .field("conn", &self.conn)
            .field("finish", &self.finish)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Driver<S> {
    pub(crate) fn new(
        io: S,
        conn: Connection,
        clock: Clock,
        read_size: usize,
        write_bound: usize,
    ) -> Driver<S> {
        Driver {
            io,
            conn,
            clock,
            timer: None,
            timer_at: None,
            read_size: read_size.max(1),
            write_bound: write_bound.max(1),
            closed: None,
            finish: Finish::Running,
            grace: None,
            shut_down: false,
            read_eof: false,
            dirty: false,
            write_failed: false,
            wakers: None,
        }
    }

    /// Runs a poll for the task behind `cx`, as the receiver (`READER`) or the
    /// sender (`WRITER`): the transport and the timer see a waker that wakes both.
    pub(crate) fn with_waker<T>(
        &mut self,
        half: usize,
        cx: &Context<'_>,
        f: impl FnOnce(&mut Self, &mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        let (wakers, both) = self.wakers.get_or_insert_with(|| {
            let wakers = Arc::new(Wakers::default());
            let both = Waker::from(Arc::clone(&wakers));
            (wakers, both)
        });
        {
            let mut slot = wakers.0[half].lock().unwrap_or_else(|p| p.into_inner());
            match &*slot {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        let both = both.clone();
        f(self, &mut Context::from_waker(&both))
    }

    /// Wakes every waiting task: a command changed what the connection waits for
    /// (a close or a ping arms a deadline the receiver's poll must set the timer to).
    pub(crate) fn wake_all(&self) {
        if let Some((wakers, _)) = &self.wakers {
            wakers.wake_by_ref();
        }
    }

    /// Now on tokio's clock (which the timer runs on, paused or not), as a timestamp
    /// of the connection's clock.
    pub(crate) fn now(&self) -> Timestamp {
        self.clock.timestamp(Instant::now().into_std())
    }

    /// The next event: `Ready(Ok(None))` once the `Closed` event was returned.
    /// Answers (pongs, close frames) are written out on the way; `Closed` comes only
    /// after the transport was dealt with as the closing handshake requires.
    pub(crate) fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Event>, Error>> {
        loop {
            if self.closed.is_none()
                && let Some(event) = self.conn.poll_event()
            {
                match event {
                    Event::Closed(closed) => {
                        self.closed = Some(closed);
                        self.begin_finish();
                    }
                    event => {
                        // What the event prompted (a pong, a handshake answer) goes
                        // out now, as far as the transport takes it at once.
                        if self.conn.buffered_amount() > 0 {
                            let _ = self.poll_write_out(cx);
                        }
                        return Poll::Ready(Ok(Some(event)));
                    }
                }
                continue;
            }
            if self.finish == Finish::Done {
                return Poll::Ready(Ok(self.closed.take().map(Event::Closed)));
            }
            if self.conn.state() == State::Closed && self.finish == Finish::Running {
                // Ended without its event yet (it comes next), or after it was taken.
                self.begin_finish();
            }
            // Output first: answers to what was read, and the caller's sends.
            let wrote = self.poll_write_out(cx);
            if let Poll::Ready(Err(_)) = wrote {
                // Keep reading what the peer sent; the connection learns of the loss
                // when its deadlines pass or the peer goes away.
                self.write_failed = true;
            }
            if self.finish == Finish::Ending && self.poll_finish(cx, wrote.is_pending())? {
                continue;
            }
            if self.poll_deadline(cx) {
                continue;
            }
            if self.finish == Finish::Ending {
                if self.read_eof {
                    // Waiting for the transport to take the last output, or for
                    // the grace deadline: both have a waker registered.
                    return Poll::Pending;
                }
                // Draining after the close: read and discard until end of stream.
                ready!(self.poll_drain(cx));
                continue;
            }
            ready!(self.poll_read(cx))?;
        }
    }

    /// Reads once into the connection's buffer.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // Every event was polled before this read, so the buffer has room (a read
        // into none would return 0, which is not the end of the stream).
        let room = self.conn.read_buf();
        debug_assert!(!room.is_empty());
        let limit = room.len().min(self.read_size);
        let mut buf = ReadBuf::new(&mut room[..limit]);
        match Pin::new(&mut self.io).poll_read(cx, &mut buf) {
            Poll::Pending => {
                // An idle connection holds no read buffer while it waits.
                self.conn.release_read_buf();
                Poll::Pending
            }
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len();
                let now = self.now();
                if n == 0 {
                    self.read_eof = true;
                    self.conn.handle_eof(now);
                } else {
                    self.conn.handle_read(now, n);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => {
                // The transport is gone: the connection ends (1006) as at the end of
                // the stream, and the error is reported.
                self.conn.release_read_buf();
                self.conn.handle_eof(self.now());
                self.read_eof = true;
                self.write_failed = true;
                Poll::Ready(Err(Error::Io(e)))
            }
        }
    }

    /// Reads and discards after the close (§7.1.1), until end of stream.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut discard = [0u8; 512];
        let mut buf = ReadBuf::new(&mut discard);
        match ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf)) {
            Ok(()) if !buf.filled().is_empty() => {}
            Ok(()) => {
                self.read_eof = true;
                self.conn.handle_eof(self.now());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Nothing more can come: done with the transport.
            Err(_) => {
                self.read_eof = true;
                self.finish = Finish::Done;
            }
        }
        Poll::Ready(())
    }

    /// Acts on the connection's deadline when it has passed (returns true: look
    /// again), else arms the timer for it.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> bool {
        let deadline = match (self.conn.poll_timeout(), self.grace) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(deadline) = deadline else {
            return false;
        };
        let now = self.now();
        if deadline > now {
            let at = Instant::from_std(self.clock.instant(deadline));
            let timer = self
                .timer
                .get_or_insert_with(|| Box::pin(::tokio::time::sleep_until(at)));
            if self.timer_at != Some(deadline) {
                timer.as_mut().reset(at);
                self.timer_at = Some(deadline);
            }
            if timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            // The timer says the deadline passed: act on it as reached, so that a
            // clock a hair behind the timer's cannot make this spin.
        }
        let now = now.max(deadline);
        self.conn.handle_timeout(now);
        if self.grace.is_some_and(|g| g <= now) {
            // The last output and the drain had their time.
            self.finish = Finish::Done;
        }
        true
    }

    /// The connection ended: the transport gets the close timeout to take the last
    /// output (a close frame, an HTTP answer), shut down and drain; after a
    /// timeout, when the peer gave no sign of life, only what it takes at once.
    fn begin_finish(&mut self) {
        if self.finish != Finish::Running {
            return;
        }
        self.finish = Finish::Ending;
        let timed_out = matches!(
            self.conn.closed().and_then(|c| c.error.as_ref()),
            Some(ConnectionError::Timeout(_))
        );
        let config = self.conn.config();
        let grace = if timed_out {
            Duration::ZERO
        } else {
            config
                .close_timeout
                .or(config.write_timeout)
                .unwrap_or(Duration::from_secs(10))
        };
        self.grace = Some(self.now() + grace.max(Duration::from_millis(1)));
    }

    /// One step of honouring the transport verdict after the end. Returns true when
    /// something changed (look again), false when it waits for the transport.
    fn poll_finish(&mut self, cx: &mut Context<'_>, writing: bool) -> Result<bool, Error> {
        if writing && !self.write_failed {
            // The last output goes first (bounded by the grace deadline).
            return Ok(false);
        }
        match self.conn.transport() {
            TransportAction::Keep => Ok(false),
            TransportAction::AwaitEof => Ok(false),
            TransportAction::Shutdown if self.shut_down => Ok(false),
            TransportAction::Shutdown | TransportAction::Close => {
                let close = self.conn.transport() == TransportAction::Close;
                if !self.shut_down {
                    match Pin::new(&mut self.io).poll_shutdown(cx) {
                        Poll::Pending => return Ok(false),
                        Poll::Ready(_) => self.shut_down = true,
                    }
                }
                if close {
                    self.finish = Finish::Done;
                }
                Ok(true)
            }
        }
    }

    /// Writes everything queued, then flushes the stream.
    pub(crate) fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.write_failed {
            return if self.conn.buffered_amount() == 0 {
                Poll::Ready(Ok(()))
            } else {
                Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
            };
        }
        while self.conn.buffered_amount() > 0 {
            let result = {
                let mut slices: [&[u8]; MAX_SLICES] = [&[]; MAX_SLICES];
                let n = self.conn.transmit_vectored(&mut slices);
                let io = Pin::new(&mut self.io);
                if io.is_write_vectored() {
                    let bufs: [IoSlice<'_>; MAX_SLICES] =
                        core::array::from_fn(|i| IoSlice::new(slices[i]));
                    io.poll_write_vectored(cx, &bufs[..n])
                } else {
                    io.poll_write(cx, slices[0])
                }
            };
            match ready!(result) {
                Ok(0) => {
                    return Poll::Ready(Err(self.write_error(io::ErrorKind::WriteZero.into())));
                }
                Ok(n) => {
                    self.conn.advance_transmit(n);
                    self.dirty = true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(self.write_error(e))),
            }
        }
        if self.dirty {
            if let Err(e) = ready!(Pin::new(&mut self.io).poll_flush(cx)) {
                return Poll::Ready(Err(self.write_error(e)));
            }
            self.dirty = false;
        }
        Poll::Ready(Ok(()))
    }

    fn write_error(&mut self, e: io::Error) -> io::Error {
        self.write_failed = true;
        e
    }

    /// Writes until buffered output is at most `bound` bytes (0: all of it, and the
    /// stream flushed), within the connection's deadlines: a peer that stops
    /// reading ends the connection at the write timeout, and this fails then.
    pub(crate) fn poll_write_until(
        &mut self,
        cx: &mut Context<'_>,
        bound: usize,
    ) -> Poll<Result<(), Error>> {
        loop {
            if bound > 0 && self.conn.buffered_amount() <= bound {
                return Poll::Ready(Ok(()));
            }
            if self.conn.state() == State::Closed {
                // What an ended connection still holds gets the grace period only.
                self.begin_finish();
            }
            match self.poll_write_out(cx) {
                Poll::Ready(Ok(())) => return Poll::Ready(Ok(())),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(Error::Io(e))),
                Poll::Pending => {}
            }
            if bound > 0 && self.conn.buffered_amount() <= bound {
                return Poll::Ready(Ok(()));
            }
            let was = self.conn.state();
            if !self.poll_deadline(cx) {
                return Poll::Pending;
            }
            if self.conn.state() == State::Closed && was != State::Closed {
                // The write timeout (or another deadline) ended the connection; its
                // `Closed` event is for the reader.
                return Poll::Ready(Err(Error::Io(io::ErrorKind::TimedOut.into())));
            }
            if self.finish == Finish::Done || self.grace.is_some_and(|g| g <= self.now()) {
                return Poll::Ready(Err(Error::Io(io::ErrorKind::TimedOut.into())));
            }
        }
    }

    /// Waits until a send may queue: fewer than `write_bound` bytes buffered.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.write_failed && self.conn.buffered_amount() > 0 {
            return Poll::Ready(Err(Error::Io(io::ErrorKind::BrokenPipe.into())));
        }
        if self.conn.buffered_amount() < self.write_bound {
            return Poll::Ready(Ok(()));
        }
        self.poll_write_until(cx, self.write_bound - 1)
    }
}
