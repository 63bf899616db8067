//! Server-Sent Events: the one parser of `text/event-stream` the clients
//! use, and the stream that feeds it from a gateway response.
//!
//! The parser follows the WHATWG rules the gateway can exercise: lines end
//! in LF, CRLF or a lone CR (a CR at the end of one chunk and an LF at the
//! start of the next are one line end); `data` lines join with LF; `event`,
//! `id` (kept across events, ignored when it holds a NUL) and `retry`
//! fields; lines starting with `:` are comments (keep-alives).

use std::{collections::VecDeque, time::Duration};

use crate::gateway::ApiError;

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// `message` when the server named none (or an empty one), as browsers do.
    pub event: String,
    /// The last event id seen so far on the stream: a reconnect sends it as
    /// `Last-Event-ID`.
    pub id: Option<String>,
    pub data: String,
}

/// Accumulates chunks; a chunk may end anywhere, even inside a UTF-8
/// character, so bytes are kept until their line is complete.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    event: Option<String>,
    id: Option<String>,
    /// `None` until a `data` line arrives: an event without one is not
    /// dispatched, while `data:` alone dispatches an empty string.
    data: Option<String>,
    retry: Option<Duration>,
    /// A `\r` ended the last chunk: a `\n` starting the next belongs to it.
    pending_cr: bool,
    /// The stream's first line may start with a byte order mark.
    started: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// The reconnection delay the server asked for with `retry`, if any.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// Feeds bytes and returns the events they completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        let mut bytes = chunk;
        if self.pending_cr {
            self.pending_cr = false;
            if let Some(b'\n') = bytes.first() {
                bytes = &bytes[1..];
            }
        }
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'\n' || b == b'\r' {
                self.buf.extend_from_slice(&bytes[start..i]);
                let line = std::mem::take(&mut self.buf);
                self.line(&line, &mut out);
                if b == b'\r' {
                    if i + 1 == bytes.len() {
                        self.pending_cr = true;
                    } else if bytes[i + 1] == b'\n' {
                        i += 1;
                    }
                }
                start = i + 1;
            }
            i += 1;
        }
        self.buf.extend_from_slice(&bytes[start..]);
        out
    }

    fn line(&mut self, raw: &[u8], out: &mut Vec<SseEvent>) {
        let mut raw = raw;
        if !self.started {
            self.started = true;
            raw = raw.strip_prefix("\u{feff}".as_bytes()).unwrap_or(raw);
        }
        let line = String::from_utf8_lossy(raw);
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                out.push(SseEvent {
                    event: self
                        .event
                        .take()
                        .filter(|e| !e.is_empty())
                        .unwrap_or_else(|| "message".into()),
                    id: self.id.clone(),
                    data,
                });
            }
            self.event = None;
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (&*line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse() {
                    self.retry = Some(Duration::from_millis(ms));
                }
            }
            _ => {}
        }
    }
}

/// The events of an open `text/event-stream` response, in order.
#[derive(Debug)]
pub struct EventStream {
    resp: reqwest::Response,
    parser: SseParser,
    /// Events parsed from a chunk and not handed out yet.
    ready: VecDeque<SseEvent>,
    gateway: String,
    ended: bool,
}

impl EventStream {
    pub(crate) fn new(resp: reqwest::Response, gateway: String) -> Self {
        Self {
            resp,
            parser: SseParser::new(),
            ready: VecDeque::new(),
            gateway,
            ended: false,
        }
    }

    /// The next event; `None` once the server closed the stream, an error
    /// when it broke.
    ///
    /// Cancel-safe: dropping the future loses no event, so it can sit in a
    /// `select!` next to other work.
    pub async fn next(&mut self) -> Option<Result<SseEvent, ApiError>> {
        loop {
            if let Some(ev) = self.ready.pop_front() {
                return Some(Ok(ev));
            }
            if self.ended {
                return None;
            }
            match self.resp.chunk().await {
                Ok(Some(chunk)) => self.ready.extend(self.parser.push(&chunk)),
                Ok(None) => self.ended = true,
                Err(source) => {
                    self.ended = true;
                    return Some(Err(ApiError::Interrupted {
                        gateway: self.gateway.clone(),
                        source,
                    }));
                }
            }
        }
    }

    /// The reconnection delay the server asked for, if any.
    pub fn retry(&self) -> Option<Duration> {
        self.parser.retry()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event: &str, id: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            id: id.map(Into::into),
            data: data.into(),
        }
    }

    #[test]
    fn an_event_with_type_id_and_data_is_dispatched_on_a_blank_line() {
        let mut p = SseParser::new();
        let evs = p.push(b"event: delivery\nid: e1\ndata: {\"a\":1}\n\n");
        assert_eq!(evs, vec![event("delivery", Some("e1"), "{\"a\":1}")]);
    }

    #[test]
    fn lf_crlf_and_lone_cr_line_ends_are_all_line_ends() {
        for stream in [
            &b"data: a\n\ndata: b\n\n"[..],
            b"data: a\r\n\r\ndata: b\r\n\r\n",
            b"data: a\r\rdata: b\r\r",
            b"data: a\r\n\rdata: b\n\r\n",
        ] {
            let mut p = SseParser::new();
            let evs = p.push(stream);
            assert_eq!(
                evs,
                [event("message", None, "a"), event("message", None, "b")],
                "{:?}",
                String::from_utf8_lossy(stream)
            );
        }
    }

    #[test]
    fn lines_split_across_chunks_and_crlf_endings_are_joined() {
        let mut p = SseParser::new();
        assert!(p.push(b"event: deli").is_empty());
        assert!(p.push(b"very\r").is_empty());
        assert!(p.push(b"\ndata: x\r\n").is_empty());
        let evs = p.push(b"data: y\r\n\r\n");
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].event, "delivery");
        assert_eq!(evs[0].data, "x\ny");
    }

    #[test]
    fn a_lone_cr_at_the_end_of_a_chunk_ends_its_line() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: a\r").is_empty());
        assert_eq!(p.push(b"\r"), [event("message", None, "a")]);
        assert_eq!(p.push(b"data: b\r\r"), [event("message", None, "b")]);
    }

    #[test]
    fn multi_line_data_joins_with_line_feeds() {
        let mut p = SseParser::new();
        let evs = p.push(b"data: plain\ndata: two\ndata\ndata:  spaced\n\n");
        assert_eq!(evs, [event("message", None, "plain\ntwo\n\n spaced")]);
    }

    #[test]
    fn a_lone_data_field_dispatches_an_empty_event_and_no_data_dispatches_none() {
        let mut p = SseParser::new();
        assert_eq!(p.push(b"data:\n\n"), [event("message", None, "")]);
        assert!(p.push(b"event: x\nid: 1\n\n").is_empty());
    }

    #[test]
    fn the_event_type_resets_after_each_event() {
        let mut p = SseParser::new();
        let evs = p.push(b"event: other\ndata: x\n\ndata: y\n\n");
        assert_eq!(evs[0].event, "other");
        assert_eq!(evs[1].event, "message");
    }

    #[test]
    fn the_last_id_carries_over_to_later_events() {
        let mut p = SseParser::new();
        let evs = p.push(b"id: 7\ndata: a\n\ndata: b\n\n");
        assert_eq!(evs[1].id.as_deref(), Some("7"));
        assert_eq!(evs[1].event, "message");
    }

    #[test]
    fn an_id_with_a_nul_is_ignored() {
        let mut p = SseParser::new();
        let evs = p.push(b"id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n");
        assert_eq!(evs[1].id.as_deref(), Some("1"));
    }

    #[test]
    fn retry_sets_the_reconnection_delay_when_it_is_a_number() {
        let mut p = SseParser::new();
        assert_eq!(p.retry(), None);
        assert!(p.push(b"retry: 1500\n\n").is_empty());
        assert_eq!(p.retry(), Some(Duration::from_millis(1500)));
        p.push(b"retry: soon\nretry: -1\n\n");
        assert_eq!(p.retry(), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn comments_are_keep_alives_and_dispatch_nothing() {
        let mut p = SseParser::new();
        assert!(p.push(b": keep-alive\n\n:\n\n").is_empty());
        assert_eq!(
            p.push(b": note\ndata: x\n: more\n\n"),
            [event("message", None, "x")]
        );
    }

    #[test]
    fn unknown_fields_are_ignored_and_a_field_without_colon_has_no_value() {
        let mut p = SseParser::new();
        let evs = p.push(b"foo: bar\nevent\ndata: x\n\n");
        assert_eq!(evs, [event("message", None, "x")]);
    }

    #[test]
    fn a_byte_order_mark_before_the_first_line_is_dropped() {
        let mut p = SseParser::new();
        assert_eq!(
            p.push("\u{feff}data: x\n\n".as_bytes()),
            [event("message", None, "x")]
        );
    }

    #[test]
    fn a_character_split_between_chunks_is_kept_whole() {
        let mut p = SseParser::new();
        let text = "data: café\n\n".as_bytes();
        let cut = text.len() - 3;
        assert!(p.push(&text[..cut]).is_empty());
        assert_eq!(p.push(&text[cut..]), [event("message", None, "café")]);
    }

    #[test]
    fn events_are_parsed_across_chunk_boundaries() {
        let mut p = SseParser::new();
        let mut out = p.push(b": keep-alive\n\nevent: delivery\nid: e1\nda");
        assert!(out.is_empty());
        out.extend(
            p.push(b"ta: {\"a\":1}\r\n\r\nevent: other\ndata: x\n\ndata: plain\ndata: two\n\n"),
        );
        assert_eq!(
            out,
            [
                event("delivery", Some("e1"), "{\"a\":1}"),
                event("other", Some("e1"), "x"),
                event("message", Some("e1"), "plain\ntwo"),
            ]
        );
    }
}
