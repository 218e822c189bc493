//! The pgwire connection loop, with a bound on what one client can make the server hold.
//!
//! pgwire's own loop (`process_socket`) buffers each message whole before it looks at it, and
//! accepts messages of up to 1 GiB in any state — before authentication too, where a client
//! that never signs in could make the server hold a gigabyte per connection for the minute a
//! startup may take. [`LimitedFrames`] reads each message's header as its bytes arrive and ends
//! the connection with a FATAL error that says why as soon as a header claims more than a
//! message may be: [`BEFORE_SIGN_IN`] bytes until the client has signed in (PostgreSQL's own
//! limit for startup packets) and [`AFTER_SIGN_IN`] after (a statement's text limit with room
//! for its parameters, [`MAX_REQUEST_BYTES`](crate::MAX_REQUEST_BYTES)). A header that claims
//! less than the header itself is a protocol violation and ends the connection the same way.
//!
//! The loop around it is pgwire's, made of its public pieces (its codec, `process_message`,
//! `process_error`); TLS is refused as before. TLS added later must sit between the socket and
//! the frame limit, which reads the protocol's plain bytes.

use futures::{SinkExt, StreamExt};
use pgwire::api::{
    ClientInfo, DefaultClient, ErrorHandler, PgWireConnectionState, PgWireServerHandlers,
};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::response::{GssEncResponse, SslResponse};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage, SslNegotiationMetaMessage};
use pgwire::tokio::server::{PgWireMessageServerCodec, process_error, process_message};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// The largest message a client may send before it has signed in.
pub const BEFORE_SIGN_IN: usize = 10_000;

/// The largest message a signed-in client may send: a statement's text and its parameters.
pub const AFTER_SIGN_IN: usize = crate::MAX_REQUEST_BYTES;

/// How long a client has to sign in (as pgwire's loop).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The codes of startup-phase requests: SSL and GSS encryption requests (another startup-phase
/// message follows them) and cancel requests.
const SSL_REQUEST: u32 = 80_877_103;
const GSS_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;

/// Why a connection was ended at a message's header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameRefused {
    /// The header claims more bytes than a message may have.
    #[error(
        "a message of {claimed} bytes is more than the {limit} bytes a client may send {when}; \
         the connection is closed"
    )]
    TooLarge {
        /// Bytes the header claims.
        claimed: usize,
        /// The limit in force.
        limit: usize,
        /// "before signing in" or "in one message".
        when: &'static str,
    },
    /// The message's body does not have the structure its type requires, so pgwire would read
    /// it past its end (into the next message) or short of it.
    #[error("a {kind} message that is not well formed; the connection is closed")]
    Malformed {
        /// The message type, by name.
        kind: &'static str,
    },
    /// The header claims fewer bytes than the header itself.
    #[error(
        "a message header claims {claimed} bytes, fewer than the header itself; the connection is closed"
    )]
    TooShort {
        /// Bytes the header claims.
        claimed: usize,
    },
}

impl FrameRefused {
    fn sqlstate(&self) -> &'static str {
        match self {
            FrameRefused::TooLarge { .. } => "54000", // program_limit_exceeded
            FrameRefused::TooShort { .. } | FrameRefused::Malformed { .. } => "08P01", // protocol_violation
        }
    }
}

/// Where in the stream of messages the next byte falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// A startup-phase message: length then code, no type byte.
    Untyped,
    /// A message with a type byte, then its length.
    Typed,
}

impl Next {
    fn header_len(self) -> usize {
        match self {
            Next::Untyped => 8,
            Next::Typed => 5,
        }
    }
}

/// Follows the message boundaries of the bytes a client sends, as the server will read them.
#[derive(Debug)]
pub struct Frames {
    next: Next,
    header: [u8; 8],
    have: usize,
    body_left: usize,
    /// The message whose body is under way: its type (0 for a startup-phase message) and
    /// code, and its body while it has to be checked before pgwire decodes it.
    kind: u8,
    code: u32,
    body: Option<Vec<u8>>,
}

impl Default for Frames {
    fn default() -> Self {
        Frames {
            next: Next::Untyped,
            header: [0; 8],
            have: 0,
            body_left: 0,
            kind: 0,
            code: 0,
            body: None,
        }
    }
}

impl Frames {
    /// Goes over `bytes`, refusing the first header that claims more than a message may have
    /// ([`BEFORE_SIGN_IN`] or, once `signed_in`, [`AFTER_SIGN_IN`]) or fewer than a header.
    pub fn advance(&mut self, mut bytes: &[u8], signed_in: bool) -> Result<(), FrameRefused> {
        let (limit, when) = if signed_in {
            (AFTER_SIGN_IN, "in one message")
        } else {
            (BEFORE_SIGN_IN, "before signing in")
        };
        while !bytes.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(bytes.len());
                if let Some(body) = &mut self.body {
                    body.extend_from_slice(&bytes[..n]);
                }
                self.body_left -= n;
                bytes = &bytes[n..];
                if self.body_left == 0 {
                    self.check_body()?;
                }
                continue;
            }
            let header_len = self.next.header_len();
            let n = (header_len - self.have).min(bytes.len());
            self.header[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            if self.have < header_len {
                break;
            }
            self.have = 0;
            let word = |at: usize| {
                u32::from_be_bytes([
                    self.header[at],
                    self.header[at + 1],
                    self.header[at + 2],
                    self.header[at + 3],
                ]) as usize
            };
            let (claimed, counted) = match self.next {
                // The length counts itself and the code.
                Next::Untyped => (word(0), 8),
                // The length counts itself, not the type byte.
                Next::Typed => (word(1), 4),
            };
            if claimed < counted {
                return Err(FrameRefused::TooShort { claimed });
            }
            if claimed > limit {
                return Err(FrameRefused::TooLarge {
                    claimed,
                    limit,
                    when,
                });
            }
            self.body_left = claimed - counted;
            (self.kind, self.code) = match self.next {
                Next::Untyped => (0, word(4) as u32),
                Next::Typed => (self.header[0], 0),
            };
            if self.next == Next::Untyped && self.code != SSL_REQUEST && self.code != GSS_REQUEST {
                self.next = Next::Typed;
            }
            self.body = checked(self.kind).then(|| Vec::with_capacity(self.body_left.min(1 << 16)));
            if self.body_left == 0 {
                self.check_body()?;
            }
        }
        Ok(())
    }

    /// Refuses the message just completed if pgwire would not read exactly its body.
    fn check_body(&mut self) -> Result<(), FrameRefused> {
        let Some(body) = self.body.take() else {
            return Ok(());
        };
        if well_formed(self.kind, self.code, &body) {
            Ok(())
        } else {
            Err(FrameRefused::Malformed {
                kind: name_of(self.kind, self.code),
            })
        }
    }
}

/// Whether a message of `kind` (0: startup phase) is checked before pgwire decodes it: those
/// whose decoders read fields without bounds (raw bodies — CopyData, the password family — are
/// split off whole, and types pgwire does not know end the connection).
fn checked(kind: u8) -> bool {
    matches!(
        kind,
        0 | b'Q' | b'P' | b'B' | b'C' | b'D' | b'E' | b'H' | b'S' | b'X' | b'c' | b'f'
    )
}

fn name_of(kind: u8, code: u32) -> &'static str {
    match (kind, code) {
        (0, SSL_REQUEST) => "SSLRequest",
        (0, GSS_REQUEST) => "GSSENCRequest",
        (0, CANCEL_REQUEST) => "CancelRequest",
        (0, _) => "StartupMessage",
        (b'Q', _) => "Query",
        (b'P', _) => "Parse",
        (b'B', _) => "Bind",
        (b'C', _) => "Close",
        (b'D', _) => "Describe",
        (b'E', _) => "Execute",
        (b'H', _) => "Flush",
        (b'S', _) => "Sync",
        (b'X', _) => "Terminate",
        (b'c', _) => "CopyDone",
        (b'f', _) => "CopyFail",
        _ => "frontend",
    }
}

/// Reads a message body field by field, as the protocol lays it out.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn cstring(&mut self) -> Option<()> {
        let end = self.0.iter().position(|b| *b == 0)?;
        self.0 = &self.0[end + 1..];
        Some(())
    }

    fn take(&mut self, n: usize) -> Option<()> {
        self.0 = self.0.get(n..)?;
        Some(())
    }

    fn u16(&mut self) -> Option<usize> {
        let [a, b, ..] = *self.0 else { return None };
        self.0 = &self.0[2..];
        Some(u16::from_be_bytes([a, b]) as usize)
    }

    fn i32(&mut self) -> Option<i32> {
        let [a, b, c, d, ..] = *self.0 else {
            return None;
        };
        self.0 = &self.0[4..];
        Some(i32::from_be_bytes([a, b, c, d]))
    }

    /// A length-prefixed value: -1 for NULL, else that many bytes.
    fn value(&mut self) -> Option<()> {
        match self.i32()? {
            -1 => Some(()),
            n if n >= 0 => self.take(n as usize),
            _ => None,
        }
    }
}

/// Whether `body` has exactly the structure of a message of `kind` (0: a startup-phase message
/// with `code`), so that its decoder reads all of it and nothing after.
fn well_formed(kind: u8, code: u32, body: &[u8]) -> bool {
    let mut f = Fields(body);
    let parsed = (|| match kind {
        0 => match code {
            SSL_REQUEST | GSS_REQUEST => Some(()),
            // Process id and a secret key of 4 (protocol 3.0) to 256 bytes (3.2).
            CANCEL_REQUEST => (8..=260)
                .contains(&body.len())
                .then(|| f.take(body.len()))
                .flatten(),
            // Parameter names and values, then an empty name.
            _ => loop {
                if f.0.first() == Some(&0) {
                    break f.take(1);
                }
                f.cstring()?;
                f.cstring()?;
            },
        },
        b'Q' | b'f' => f.cstring(),
        b'P' => {
            f.cstring()?;
            f.cstring()?;
            let types = f.u16()?;
            f.take(4 * types)
        }
        b'B' => {
            f.cstring()?;
            f.cstring()?;
            let formats = f.u16()?;
            f.take(2 * formats)?;
            for _ in 0..f.u16()? {
                f.value()?;
            }
            let results = f.u16()?;
            f.take(2 * results)
        }
        b'C' | b'D' => {
            f.take(1)?;
            f.cstring()
        }
        b'E' => {
            f.cstring()?;
            f.take(4)
        }
        _ => Some(()),
    })();
    parsed.is_some() && f.0.is_empty()
}

/// Whether `body` is a well-formed SASLInitialResponse (mechanism, then a length-prefixed
/// response): pgwire's decoder of it reads past a short body and panics.
pub fn is_sasl_initial_response(body: &[u8]) -> bool {
    let mut f = Fields(body);
    f.cstring().and_then(|()| f.value()).is_some() && f.0.is_empty()
}

/// A client's socket that refuses, as the bytes arrive, a message larger than the connection
/// may send ([`Frames`]); reads fail with [`FrameRefused`] inside the I/O error.
pub struct LimitedFrames {
    socket: TcpStream,
    frames: Frames,
    signed_in: Arc<AtomicBool>,
}

impl LimitedFrames {
    /// `socket`, whose limit rises from [`BEFORE_SIGN_IN`] to [`AFTER_SIGN_IN`] once
    /// `signed_in` is true.
    pub fn new(socket: TcpStream, signed_in: Arc<AtomicBool>) -> Self {
        LimitedFrames {
            socket,
            frames: Frames::default(),
            signed_in,
        }
    }
}

impl LimitedFrames {
    /// After the error that ends a connection: closes the sending side, then reads and drops
    /// what the client still sends (at most `at_most` bytes, for at most `within`), so that a
    /// client still writing the refused message gets to read the error instead of a reset.
    async fn discard_input(&mut self, within: Duration, at_most: usize) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let _ = self.socket.shutdown().await;
        let mut sink = vec![0u8; 64 << 10];
        let mut read = 0;
        let _ = tokio::time::timeout(within, async {
            while read < at_most {
                match self.socket.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read += n,
                }
            }
        })
        .await;
    }
}

impl AsyncRead for LimitedFrames {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.socket).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let signed_in = this.signed_in.load(Ordering::Acquire);
                match this.frames.advance(&buf.filled()[before..], signed_in) {
                    Ok(()) => Poll::Ready(Ok(())),
                    Err(refused) => {
                        Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, refused)))
                    }
                }
            }
            other => other,
        }
    }
}

impl AsyncWrite for LimitedFrames {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().socket).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().socket).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().socket).poll_shutdown(cx)
    }
}

/// Serves one client connection with `handlers` until it ends; `signed_in` turns true when
/// the startup handler has authenticated the client.
pub async fn serve_connection<H: PgWireServerHandlers>(
    socket: TcpStream,
    handlers: H,
    signed_in: Arc<AtomicBool>,
) -> io::Result<()> {
    let peer = socket.peer_addr()?;
    let mut socket = Framed::new(
        LimitedFrames::new(socket, signed_in),
        PgWireMessageServerCodec::new(DefaultClient::new(peer, false)),
    );
    socket.set_state(PgWireConnectionState::AwaitingSslRequest);
    let startup = handlers.startup_handler();
    let simple = handlers.simple_query_handler();
    let extended = handlers.extended_query_handler();
    let copy = handlers.copy_handler();
    let cancel = handlers.cancel_handler();
    let errors = handlers.error_handler();
    let deadline = tokio::time::sleep(STARTUP_TIMEOUT);
    tokio::pin!(deadline);
    loop {
        let starting = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingSslRequest
                | PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        );
        let next = if starting {
            tokio::select! {
                _ = &mut deadline => return Ok(()),
                next = socket.next() => next,
            }
        } else {
            socket.next().await
        };
        let message = match next {
            None => return Ok(()),
            Some(Ok(message)) => message,
            Some(Err(e)) => return end_with(&mut socket, e).await,
        };
        match message {
            PgWireFrontendMessage::SslNegotiation(SslNegotiationMetaMessage::PostgresSsl(_)) => {
                socket
                    .send(PgWireBackendMessage::SslResponse(SslResponse::Refuse))
                    .await?;
                continue;
            }
            PgWireFrontendMessage::SslNegotiation(SslNegotiationMetaMessage::PostgresGss(_)) => {
                socket
                    .send(PgWireBackendMessage::GssEncResponse(GssEncResponse::Refuse))
                    .await?;
                continue;
            }
            PgWireFrontendMessage::SslNegotiation(SslNegotiationMetaMessage::None) => {
                socket.set_state(PgWireConnectionState::AwaitingStartup);
                continue;
            }
            // The client is leaving; some (asyncpg) wait for the server to close.
            PgWireFrontendMessage::Terminate(_) => return Ok(()),
            _ => {}
        }
        let wait_for_sync = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => message.is_extended_query(),
        };
        if let Err(mut e) = process_message(
            message,
            &mut socket,
            startup.clone(),
            simple.clone(),
            extended.clone(),
            copy.clone(),
            cancel.clone(),
        )
        .await
        {
            errors.on_error(&socket, &mut e);
            process_error(&mut socket, e, wait_for_sync).await?;
        }
    }
}

/// Ends a connection whose bytes could not be read as messages, telling the client why
/// (PostgreSQL also answers a malformed message with a FATAL error before closing).
async fn end_with(
    socket: &mut Framed<LimitedFrames, PgWireMessageServerCodec<impl Sized>>,
    error: PgWireError,
) -> io::Result<()> {
    let refused = match &error {
        PgWireError::IoError(e) => e.get_ref().and_then(|e| e.downcast_ref::<FrameRefused>()),
        _ => None,
    };
    let (code, message) = match refused {
        Some(refused) => (refused.sqlstate(), refused.to_string()),
        None if matches!(error, PgWireError::IoError(_)) => return Ok(()), // the client is gone
        None => (
            "08P01",
            format!("invalid message, the connection is closed: {error}"),
        ),
    };
    tracing::debug!("pgwire connection from {}: {message}", socket.socket_addr());
    let answer = ErrorInfo::new("FATAL".to_owned(), code.to_owned(), message);
    let _ = socket
        .send(PgWireBackendMessage::ErrorResponse(answer.into()))
        .await;
    socket
        .get_mut()
        .discard_input(Duration::from_secs(2), 64 << 20)
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhongshu_engine::complexity::MAX_BYTES;

    fn typed(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn untyped(code: u32, body: &[u8]) -> Vec<u8> {
        let mut m = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        m.extend_from_slice(&code.to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn follows_messages_split_anywhere_and_refuses_a_large_claim_at_its_header() {
        let mut stream = untyped(SSL_REQUEST, b"");
        stream.extend(untyped(196_608, b"user\0x\0\0"));
        stream.extend(typed(b'p', b"secret\0"));
        stream.extend(typed(b'Q', b"SELECT 1\0"));
        // Every split of the stream into two reads ends in the same place.
        for split in 0..stream.len() {
            let mut frames = Frames::default();
            frames.advance(&stream[..split], false).unwrap();
            frames.advance(&stream[split..], false).unwrap();
            assert_eq!(
                (frames.next, frames.have, frames.body_left),
                (Next::Typed, 0, 0),
                "{split}"
            );
        }
        // A claim of a gigabyte is refused from its five header bytes, before any body.
        let mut frames = Frames::default();
        frames
            .advance(&untyped(196_608, b"user\0x\0\0"), false)
            .unwrap();
        let huge = [b'Q', 0x3f, 0xff, 0xff, 0xf0];
        assert!(matches!(
            frames.advance(&huge, false),
            Err(FrameRefused::TooLarge {
                when: "before signing in",
                ..
            })
        ));
        let mut signed_in = Frames::default();
        signed_in
            .advance(&untyped(196_608, b"user\0x\0\0"), true)
            .unwrap();
        assert!(matches!(
            signed_in.advance(&huge, true),
            Err(FrameRefused::TooLarge {
                when: "in one message",
                ..
            })
        ));
        // A statement at the text limit still fits after signing in, not before.
        let mut text = vec![b' '; MAX_BYTES];
        text.push(0);
        let statement = typed(b'Q', &text);
        let mut frames = Frames::default();
        frames.advance(&untyped(196_608, b"\0"), true).unwrap();
        frames.advance(&statement, true).unwrap();
        let mut frames = Frames::default();
        frames.advance(&untyped(196_608, b"\0"), false).unwrap();
        assert!(frames.advance(&statement, false).is_err());
    }

    fn signed_in() -> Frames {
        let mut frames = Frames::default();
        frames
            .advance(&untyped(196_608, b"user\0u\0\0"), true)
            .unwrap();
        frames
    }

    #[test]
    fn passes_what_clients_send_and_refuses_bodies_pgwire_would_misread() {
        // What libpq sends for an extended-protocol query, and a simple one.
        let mut well_formed = typed(b'P', b"\0SELECT $1\0\0\x01\0\0\0\x17");
        well_formed.extend(typed(b'B', b"\0\0\0\x01\0\x01\0\x01\0\0\0\x02\0\x07\0\0"));
        well_formed.extend(typed(b'B', b"p\0s\0\0\0\0\x01\xff\xff\xff\xff\0\0"));
        well_formed.extend(typed(b'D', b"P\0"));
        well_formed.extend(typed(b'E', b"\0\0\0\0\0"));
        well_formed.extend(typed(b'C', b"S\0"));
        well_formed.extend(typed(b'S', b""));
        well_formed.extend(typed(b'H', b""));
        well_formed.extend(typed(b'Q', "SELECT '坪山'\0".as_bytes()));
        well_formed.extend(typed(b'd', b"\0\0\0 anything"));
        well_formed.extend(typed(b'p', b"SCRAM-SHA-256"));
        signed_in().advance(&well_formed, true).unwrap();
        // Bodies whose decoders would read into the next message, or stop short of the end
        // (the rest then read as a message of its own, with a length nobody checked).
        for (kind, body) in [
            (b'Q', &b"SELECT 1"[..]),
            (b'Q', b"SELECT 1\0Q\x3f\xff\xff\xf0"),
            (b'S', b"Q\0\0\0\x05x"),
            (b'P', b"s"),
            (b'P', b"\0SELECT 1\0\0\x02\0\0\0\x17"),
            (b'B', b"\0\0\0\0\x7f\xff"),
            (b'B', b"\0\0\0\0\0\x01\0\0\0\x09abc\0\0"),
            (b'B', b"\0\0\0\0\0\x01\xff\xff\xff\xfe\0\0"),
            (b'D', b""),
            (b'E', b"\0\0\0"),
            (b'f', b"no end"),
        ] {
            assert!(
                matches!(
                    signed_in().advance(&typed(kind, body), true),
                    Err(FrameRefused::Malformed { .. })
                ),
                "{} {body:?}",
                kind as char
            );
        }
        // Startup parameters must end with an empty name.
        let mut frames = Frames::default();
        assert!(
            frames
                .advance(&untyped(196_608, b"user\0u\0"), false)
                .is_err()
        );
        assert!(is_sasl_initial_response(b"SCRAM-SHA-256\0\0\0\0\x02n,"));
        assert!(!is_sasl_initial_response(b"SCRAM-SHA-256\0\0\0\x09n,"));
        assert!(!is_sasl_initial_response(b"SCRAM-SHA-256"));
    }

    #[test]
    fn refuses_a_header_claiming_less_than_itself() {
        let mut frames = Frames::default();
        assert_eq!(
            frames.advance(&[0, 0, 0, 3, 0, 3, 0, 0], false),
            Err(FrameRefused::TooShort { claimed: 3 })
        );
        let mut frames = Frames::default();
        frames.advance(&untyped(196_608, b"\0"), false).unwrap();
        assert_eq!(
            frames.advance(&[b'S', 0, 0, 0, 2], false),
            Err(FrameRefused::TooShort { claimed: 2 })
        );
        // Sync is four bytes of length and nothing else.
        let mut frames = Frames::default();
        frames.advance(&untyped(196_608, b"\0"), false).unwrap();
        frames
            .advance(&[b'S', 0, 0, 0, 4, b'S', 0, 0, 0, 4], false)
            .unwrap();
        assert_eq!((frames.have, frames.body_left), (0, 0));
    }
}
