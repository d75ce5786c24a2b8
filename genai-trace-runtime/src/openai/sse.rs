//! A response body cut into whole server-sent events, so that each event is one
//! item of the instrumented stream (one chunk, timed on arrival), whatever the
//! network's own chunking. The bytes pass through unchanged: the client's own
//! SSE parser reads exactly what the server sent.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;

/// One event's raw bytes, its terminating blank line included.
#[derive(Debug)]
pub(crate) struct SseEvent {
    pub(crate) raw: Bytes,
}

impl SseEvent {
    /// The event's `data:` lines, joined with newlines (`None`: no data line).
    pub(crate) fn data(&self) -> Option<String> {
        let text = std::str::from_utf8(&self.raw).ok()?;
        let mut data: Option<String> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("data:") {
                let rest = rest.strip_prefix(' ').unwrap_or(rest);
                match &mut data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(rest);
                    }
                    None => data = Some(rest.to_owned()),
                }
            }
        }
        data
    }
}

/// Bytes held while waiting for an event's end. A body that never ends an
/// event (not SSE after all, or a huge one) is passed on in pieces of this
/// size instead of being held whole: memory stays bounded, and the recorder
/// sees pieces that are not events (not counted as chunks).
const MAX_HELD: usize = 1 << 20;

/// The end of the first event in `buf`: just past its blank line.
fn event_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + 1 < buf.len() {
        if buf[i] == b'\n' {
            if buf[i + 1] == b'\n' {
                return Some(i + 2);
            }
            if buf[i + 1] == b'\r' && buf.get(i + 2) == Some(&b'\n') {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

pin_project_lite::pin_project! {
    /// Splits a byte stream into [`SseEvent`]s; what follows the last blank line
    /// comes out as a final item when the body ends.
    pub(crate) struct SseEvents<S> {
        #[pin]
        inner: S,
        buf: BytesMut,
        done: bool,
    }
}

impl<S> SseEvents<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self {
            inner,
            buf: BytesMut::new(),
            done: false,
        }
    }
}

impl<S, E> Stream for SseEvents<S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    type Item = Result<SseEvent, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            if let Some(end) = event_end(this.buf) {
                let raw = this.buf.split_to(end).freeze();
                return Poll::Ready(Some(Ok(SseEvent { raw })));
            }
            if this.buf.len() >= MAX_HELD {
                let raw = this.buf.split_to(MAX_HELD).freeze();
                return Poll::Ready(Some(Ok(SseEvent { raw })));
            }
            if *this.done {
                if this.buf.is_empty() {
                    return Poll::Ready(None);
                }
                let raw = this.buf.split().freeze();
                return Poll::Ready(Some(Ok(SseEvent { raw })));
            }
            match this.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(bytes))) => this.buf.extend_from_slice(&bytes),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => *this.done = true,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[test]
    fn events_are_whole_whatever_the_chunking() {
        let body = "data: {\"a\":1}\n\ndata: {\"b\":\n\r\ndata: [DONE]\n\n";
        let pieces: Vec<Result<Bytes, ()>> = body
            .as_bytes()
            .chunks(5)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let events: Vec<SseEvent> = futures_executor::block_on(
            SseEvents::new(futures_util::stream::iter(pieces))
                .map(Result::unwrap)
                .collect(),
        );
        let data: Vec<Option<String>> = events.iter().map(SseEvent::data).collect();
        assert_eq!(
            data,
            [Some("{\"a\":1}".into()), Some("{\"b\":".into()), Some("[DONE]".into())]
        );
        let raw: Vec<u8> = events.iter().flat_map(|e| e.raw.to_vec()).collect();
        assert_eq!(raw, body.as_bytes(), "the bytes pass through unchanged");
    }

    #[test]
    fn a_body_without_event_ends_is_passed_on_in_bounded_pieces() {
        let body = vec![b'x'; 3 * MAX_HELD + 5];
        let pieces: Vec<Result<Bytes, ()>> = body.chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let events: Vec<SseEvent> = futures_executor::block_on(
            SseEvents::new(futures_util::stream::iter(pieces))
                .map(Result::unwrap)
                .collect(),
        );
        assert!(events.iter().all(|e| e.raw.len() <= MAX_HELD));
        assert_eq!(events.iter().map(|e| e.raw.len()).sum::<usize>(), body.len());
        assert_eq!(events[0].data(), None, "not an event: no data");
    }
}
