//! A Server-Sent Events parser (the parts of the WHATWG rules the gateway
//! uses: `event`, `id`, `data`, comments as keep-alives), fed raw chunks.

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// `message` when the server named none.
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

/// Accumulates chunks; lines may be split anywhere between chunks.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    event: Option<String>,
    id: Option<String>,
    data: Vec<String>,
    /// A `\r` ended the last chunk: a `\n` starting the next belongs to it.
    pending_cr: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
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
                self.line(&String::from_utf8_lossy(&line), &mut out);
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

    fn line(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if !self.data.is_empty() {
                out.push(SseEvent {
                    event: self.event.take().unwrap_or_else(|| "message".into()),
                    id: self.id.clone(),
                    data: std::mem::take(&mut self.data).join("\n"),
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
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => self.data.push(value.to_owned()),
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_with_type_id_and_data_is_dispatched_on_a_blank_line() {
        let mut p = SseParser::new();
        let evs = p.push(b"event: delivery\nid: e1\ndata: {\"a\":1}\n\n");
        assert_eq!(
            evs,
            vec![SseEvent {
                event: "delivery".into(),
                id: Some("e1".into()),
                data: "{\"a\":1}".into()
            }]
        );
    }

    #[test]
    fn comments_are_keep_alives_and_dispatch_nothing() {
        let mut p = SseParser::new();
        assert!(p.push(b": keep-alive\n\n:\n\n").is_empty());
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
    fn the_last_id_carries_over_to_later_events() {
        let mut p = SseParser::new();
        let evs = p.push(b"id: 7\ndata: a\n\ndata: b\n\n");
        assert_eq!(evs[1].id.as_deref(), Some("7"));
        assert_eq!(evs[1].event, "message");
    }
}
