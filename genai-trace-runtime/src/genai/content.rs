//! The gate every piece of content (prompts, completions, tool arguments,
//! documents) passes before it is recorded: capture mode, the user's redaction
//! hook, then truncation that keeps JSON valid.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::base::diag;
use crate::genai::shrink::{ELLIPSIS, shrink_json};

/// A redaction hook: sees the attribute key and the content (JSON text or plain
/// text) before it is recorded; returns the text to record, or `None` to drop it.
pub type RedactHook = Arc<dyn Fn(&str, String) -> Option<String> + Send + Sync>;

/// Default content limit per attribute: 32 KiB.
pub const DEFAULT_MAX_CONTENT_BYTES: usize = 32 * 1024;

/// What the installation does with content.
#[derive(Clone)]
pub(crate) struct ContentPolicy {
    pub mode: ContentCapture,
    pub max_bytes: usize,
    pub redact: Option<RedactHook>,
    pub semconv_latest: bool,
}

impl Default for ContentPolicy {
    fn default() -> Self {
        Self {
            mode: ContentCapture::NoContent,
            max_bytes: DEFAULT_MAX_CONTENT_BYTES,
            redact: None,
            semconv_latest: false,
        }
    }
}

impl fmt::Debug for ContentPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentPolicy")
            .field("mode", &self.mode)
            .field("max_bytes", &self.max_bytes)
            .field("redact", &self.redact.is_some())
            .finish_non_exhaustive()
    }
}

/// Content ready to record, and whether it was cut.
pub(crate) struct Prepared {
    pub text: String,
    pub truncated: bool,
}

impl ContentPolicy {
    /// `true` when content is recorded anywhere (span or event).
    pub(crate) fn captures(&self) -> bool {
        self.mode != ContentCapture::NoContent
    }

    /// JSON content (messages, documents, arguments) for attribute `key`.
    pub(crate) fn prepare_json(&self, key: &str, value: &Json) -> Option<Prepared> {
        if !self.captures() {
            return None;
        }
        let text = value.to_string();
        let text = match &self.redact {
            Some(hook) => diag::guarded("the redaction hook", || hook(key, text)).flatten()?,
            None => text,
        };
        if text.len() <= self.max_bytes {
            return Some(Prepared { text, truncated: false });
        }
        // The hook may have returned anything; shrink JSON structurally when it
        // is JSON, else cut the text.
        match serde_json::from_str::<Json>(&text) {
            Ok(json) => Some(Prepared {
                text: shrink_json(json, self.max_bytes),
                truncated: true,
            }),
            Err(_) => Some(Prepared {
                text: cut_text(&text, self.max_bytes),
                truncated: true,
            }),
        }
    }

    /// Plain text content (a retrieval query) for attribute `key`.
    pub(crate) fn prepare_text(&self, key: &str, text: &str) -> Option<Prepared> {
        if !self.captures() {
            return None;
        }
        let text = match &self.redact {
            Some(hook) => diag::guarded("the redaction hook", || hook(key, text.to_owned())).flatten()?,
            None => text.to_owned(),
        };
        if text.len() <= self.max_bytes {
            return Some(Prepared { text, truncated: false });
        }
        Some(Prepared {
            text: cut_text(&text, self.max_bytes),
            truncated: true,
        })
    }
}

/// The longest prefix of `s` that fits `max` bytes with an ellipsis, on a char boundary.
fn cut_text(s: &str, max: usize) -> String {
    let budget = max.saturating_sub(ELLIPSIS.len());
    let mut end = budget.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ELLIPSIS}", &s[..end])
}

/// Whether prompt and completion content is recorded, and where.
///
/// Off ([`ContentCapture::NoContent`]) by default: with it, no byte of a
/// prompt, completion or `sensitive` argument leaves the process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContentCapture {
    /// Content is never recorded (default; also `false`).
    #[default]
    NoContent,
    /// Content goes on spans as attributes (also `true`).
    SpanOnly,
    /// Content goes in the `gen_ai.client.inference.operation.details` event only.
    EventOnly,
    /// Both.
    SpanAndEvent,
}

impl ContentCapture {
    /// Content is recorded on spans.
    pub fn on_span(self) -> bool {
        matches!(self, Self::SpanOnly | Self::SpanAndEvent)
    }
    /// Content is recorded in events.
    pub fn in_event(self) -> bool {
        matches!(self, Self::EventOnly | Self::SpanAndEvent)
    }
}

impl FromStr for ContentCapture {
    type Err = ();
    /// Accepts `true`/`false` and the semconv names, case-insensitively.
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_uppercase().as_str() {
            "FALSE" | "NO_CONTENT" => Ok(Self::NoContent),
            "TRUE" | "SPAN_ONLY" => Ok(Self::SpanOnly),
            "EVENT_ONLY" => Ok(Self::EventOnly),
            "SPAN_AND_EVENT" => Ok(Self::SpanAndEvent),
            _ => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(max: usize) -> ContentPolicy {
        ContentPolicy {
            mode: ContentCapture::SpanOnly,
            max_bytes: max,
            ..ContentPolicy::default()
        }
    }

    #[test]
    fn off_records_nothing() {
        assert!(ContentPolicy::default().prepare_text("k", "secret").is_none());
        assert!(
            ContentPolicy::default()
                .prepare_json("k", &serde_json::json!(["secret"]))
                .is_none()
        );
    }

    #[test]
    fn truncation_keeps_json_valid_and_says_so() {
        let long = "é".repeat(5000);
        let json = serde_json::json!([{"role": "user", "parts": [{"type": "text", "content": long}]}]);
        let p = on(200).prepare_json("k", &json).unwrap();
        assert!(p.truncated);
        assert!(p.text.len() <= 200, "{}", p.text.len());
        let back: Json = serde_json::from_str(&p.text).unwrap();
        assert_eq!(back[0]["role"], "user");
        assert!(back[0]["parts"][0]["content"].as_str().unwrap().ends_with('…'));
    }

    #[test]
    fn text_is_cut_on_a_char_boundary() {
        let p = on(10).prepare_text("k", "ééééééééé").unwrap();
        assert!(p.truncated && p.text.len() <= 10 && p.text.ends_with('…'));
    }

    #[test]
    fn the_hook_rewrites_or_drops() {
        let mut p = on(1000);
        p.redact = Some(Arc::new(|key, text| {
            (key != "drop").then(|| text.replace("4111", "****"))
        }));
        assert_eq!(p.prepare_text("k", "card 4111").unwrap().text, "card ****");
        assert!(p.prepare_text("drop", "x").is_none());
    }

    #[test]
    fn content_capture_parsing() {
        assert_eq!("true".parse(), Ok(ContentCapture::SpanOnly));
        assert_eq!("False".parse(), Ok(ContentCapture::NoContent));
        assert_eq!("span_and_event".parse(), Ok(ContentCapture::SpanAndEvent));
        assert_eq!("EVENT_ONLY".parse(), Ok(ContentCapture::EventOnly));
        assert_eq!("maybe".parse::<ContentCapture>(), Err(()));
        assert!(ContentCapture::SpanAndEvent.on_span() && ContentCapture::SpanAndEvent.in_event());
        assert!(!ContentCapture::default().on_span());
    }
}
