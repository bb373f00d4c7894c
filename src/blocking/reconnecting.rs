//! A client that reconnects when the server goes away (feature `blocking` with
//! `getrandom`).

use super::MaybeTlsStream;
use std::collections::VecDeque;
use std::time::Duration;

use super::{Error, WebSocket, connect_with};
use crate::reconnect::{Reconnect, ReconnectPolicy};
use crate::{ClientRequest, Clock, CloseCode, Config, Event, Message, Open, Timestamp};

/// What [`ReconnectingClient::poll`] reports.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A connection opened (the first or a new one).
    Connected(Open),
    /// An event from the current connection.
    Event(Event),
    /// The connection ended or an attempt failed; the next attempt is due at the
    /// given time after the client's start, or never (`None`: gave up).
    Disconnected {
        /// Why.
        error: Error,
        /// When the next attempt may start, counted from the client's creation.
        retry_in: Option<Duration>,
    },
    /// A message kept while disconnected that a new connection refused outright
    /// (larger than [`Config::max_buffered_output`], say). No later connection would
    /// take it either, so it is handed back here and not retried.
    Refused {
        /// The message.
        message: Message,
        /// Why the connection refused it.
        error: Error,
    },
}

/// A client that reconnects by a [`ReconnectPolicy`] when the server goes away.
/// Messages the connection had not finished writing when it died are resent on the
/// next connection, as are messages sent while disconnected (at least once).
pub struct ReconnectingClient {
    request: ClientRequest,
    config: Config,
    reconnect: Reconnect,
    ws: Option<WebSocket<MaybeTlsStream>>,
    outbox: VecDeque<Message>,
    /// Events to report before anything else (refused messages).
    pending: VecDeque<ClientEvent>,
    clock: Clock,
}

impl core::fmt::Debug for ReconnectingClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReconnectingClient")
            .field("connected", &self.ws.is_some())
            .field("outbox", &self.outbox.len())
            .field("reconnect", &self.reconnect)
            .finish_non_exhaustive()
    }
}

impl ReconnectingClient {
    /// A client for `url` that will connect on the first [`poll`](Self::poll).
    pub fn new(
        url: &str,
        config: Config,
        policy: ReconnectPolicy,
    ) -> Result<ReconnectingClient, Error> {
        Ok(Self::with_request(
            ClientRequest::from_url(url)?,
            config,
            policy,
        ))
    }

    /// A client that sends `request` (subprotocols, headers...) on each attempt.
    pub fn with_request(
        request: ClientRequest,
        config: Config,
        policy: ReconnectPolicy,
    ) -> ReconnectingClient {
        ReconnectingClient {
            request,
            config,
            reconnect: Reconnect::new(policy, crate::OsEntropy::new()),
            ws: None,
            outbox: VecDeque::new(),
            pending: VecDeque::new(),
            clock: Clock::new(),
        }
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Whether a connection is open now.
    pub fn is_connected(&self) -> bool {
        self.ws.is_some()
    }

    /// Sends a message now if connected, else keeps it for the next connection.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        match &mut self.ws {
            Some(ws) => match ws.send(message.clone()) {
                Ok(()) => Ok(()),
                Err(Error::Io(_)) => {
                    // Kept by the connection; recovered from `take_unsent` on drop.
                    Ok(())
                }
                Err(e) => Err(e),
            },
            None => {
                self.outbox.push_back(message);
                Ok(())
            }
        }
    }

    /// Waits up to `max_wait` for something to happen: connecting when an attempt is
    /// due, or an event on the open connection. `Ok(None)` when nothing happened.
    pub fn poll(&mut self, max_wait: Duration) -> Result<Option<ClientEvent>, Error> {
        if let Some(event) = self.pending.pop_front() {
            return Ok(Some(event));
        }
        let Some(ws) = &mut self.ws else {
            return self.try_connect(max_wait);
        };
        match ws.read_event_timeout(max_wait) {
            Ok(Some(Event::Closed(closed))) => Ok(Some(self.lost(Error::Closed(*closed)))),
            Ok(Some(event)) => Ok(Some(ClientEvent::Event(event))),
            Ok(None) => Ok(None),
            Err(e) => Ok(Some(self.lost(e))),
        }
    }

    fn try_connect(&mut self, max_wait: Duration) -> Result<Option<ClientEvent>, Error> {
        let Some(at) = self.reconnect.next_attempt() else {
            return Err(Error::AlreadyClosed);
        };
        let now = self.now();
        if at > now {
            std::thread::sleep(at.saturating_duration_since(now).min(max_wait));
            return Ok(None);
        }
        match connect_with(self.request.clone(), self.config.clone()) {
            Ok((mut ws, open)) => {
                self.reconnect.connected(self.now());
                while let Some(message) = self.outbox.pop_front() {
                    match ws.send(message.clone()) {
                        Ok(()) => {}
                        // Taken but not written: recovered from the connection.
                        Err(Error::Io(e)) => {
                            self.ws = Some(ws);
                            return Ok(Some(self.lost(Error::Io(e))));
                        }
                        Err(error) => self
                            .pending
                            .push_back(ClientEvent::Refused { message, error }),
                    }
                }
                self.ws = Some(ws);
                Ok(Some(ClientEvent::Connected(open)))
            }
            Err(error) => {
                let next = self.reconnect.attempt_failed(self.now());
                Ok(Some(self.disconnected(error, next)))
            }
        }
    }

    /// The open connection ended: keep what it did not write, schedule the next try.
    /// What it did not write was sent before anything still in the outbox, so it goes
    /// first.
    fn lost(&mut self, error: Error) -> ClientEvent {
        if let Some(mut ws) = self.ws.take() {
            let unsent = ws.connection_mut().take_unsent();
            for unsent in unsent.into_iter().rev() {
                // Only whole messages are sent through this client.
                let message = match unsent.kind {
                    crate::MessageKind::Text => match crate::Text::try_from(unsent.data) {
                        Ok(t) => Message::Text(t),
                        Err(_) => continue,
                    },
                    crate::MessageKind::Binary => Message::Binary(unsent.data.into()),
                };
                self.outbox.push_front(message);
            }
        }
        let next = self.reconnect.disconnected(self.now());
        self.disconnected(error, next)
    }

    fn disconnected(&self, error: Error, next: Option<Timestamp>) -> ClientEvent {
        let now = self.now();
        ClientEvent::Disconnected {
            error,
            retry_in: next.map(|t| t.saturating_duration_since(now)),
        }
    }

    /// Closes the current connection, if any, with a normal closure.
    pub fn close(&mut self) -> Result<(), Error> {
        if let Some(mut ws) = self.ws.take()
            && ws.connection().state() == crate::State::Open
        {
            ws.close(CloseCode::NORMAL, "")?;
        }
        Ok(())
    }

    /// The reconnect state.
    pub fn reconnect(&self) -> &Reconnect {
        &self.reconnect
    }

    /// Messages waiting for a connection.
    pub fn pending(&self) -> usize {
        self.outbox.len()
    }

    /// The request used for each attempt.
    pub fn request(&self) -> &ClientRequest {
        &self.request
    }

    /// The configuration used for each connection.
    pub fn config(&self) -> &Config {
        &self.config
    }
}
