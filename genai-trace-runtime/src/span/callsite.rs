//! The static half of a `#[genai_span]` call: the [`CallSite`] the macro builds
//! at compile time, and [`StartAttributes`], through which the expansion
//! records the attributes known at span start (where samplers see them).

use opentelemetry::trace::SpanKind;
use opentelemetry::{Key, KeyValue, Value};

use crate::base::attr_value::ToAttributeValue;
use crate::genai::content::ContentPolicy;
use crate::genai::recorder::{ContentSlot, RecordBuffer, Recorder};

/// How the span name is completed at run time.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum NameSuffix {
    /// The name is static.
    None,
    /// `{name} {value of this attribute}` when the attribute is set (e.g. the model).
    Attribute(&'static str),
}

/// Per-call-site static state, built at compile time by `#[genai_span]`.
#[doc(hidden)]
#[derive(Debug)]
pub struct CallSite {
    pub(super) name: &'static str,
    pub(super) operation: Option<&'static str>,
    pub(super) kind: SpanKind,
    pub(super) suffix: NameSuffix,
    pub(super) default_attr: Option<(&'static str, &'static str)>,
    pub(super) content_slot: ContentSlot,
    pub(super) has_sensitive: bool,
}

impl CallSite {
    /// `name` is the static part of the span name; `operation` the value of
    /// `gen_ai.operation.name` (well-known kinds only); `default_attr` an attribute
    /// set when the user's attributes do not set that key (e.g. the tool name);
    /// `content_slot` where `sensitive` arguments go; `has_sensitive` whether the
    /// function declares any (their error messages are then content too).
    pub const fn new(
        name: &'static str,
        operation: Option<&'static str>,
        kind: SpanKind,
        suffix: NameSuffix,
        default_attr: Option<(&'static str, &'static str)>,
        content_slot: ContentSlot,
        has_sensitive: bool,
    ) -> Self {
        Self {
            name,
            operation,
            kind,
            suffix,
            default_attr,
            content_slot,
            has_sensitive,
        }
    }
}

/// At most this many attributes a span may get from `attrs(...)` keys outside the
/// GenAI namespaces, so the 128-attribute span limit always leaves room for the
/// `gen_ai.*`, `server.*` and `error.*` attributes set later.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 64;

/// Attributes given at span start, where samplers can see them.
#[doc(hidden)]
#[derive(Debug)]
pub struct StartAttributes<'a> {
    pub(super) buf: &'a mut RecordBuffer,
    pub(super) policy: &'a ContentPolicy,
    pub(super) content_slot: ContentSlot,
    pub(super) custom: usize,
    pub(super) dropped: u32,
}

fn is_convention_key(key: &str) -> bool {
    key.starts_with("gen_ai.") || key.starts_with("server.") || key.starts_with("error.")
}

impl StartAttributes<'_> {
    /// Records `value` under `key` unless it converts to nothing (`None`).
    #[inline]
    pub fn push<T: ToAttributeValue + ?Sized>(&mut self, key: &'static str, value: &T) {
        if self.admit(key)
            && let Some(v) = value.to_attribute_value()
        {
            self.buf.kvs.push(KeyValue::new(Key::from_static_str(key), v));
        }
    }

    /// Records a string literal (no allocation).
    #[inline]
    pub fn push_static(&mut self, key: &'static str, value: &'static str) {
        if self.admit(key) {
            self.buf.kvs.push(KeyValue::new(Key::from_static_str(key), value));
        }
    }

    /// Convention keys always fit; others count against [`MAX_CUSTOM_ATTRIBUTES`].
    fn admit(&mut self, key: &str) -> bool {
        if is_convention_key(key) {
            return true;
        }
        if self.custom >= MAX_CUSTOM_ATTRIBUTES {
            self.dropped += 1;
            return false;
        }
        self.custom += 1;
        true
    }

    /// The recorder request types write to.
    pub fn recorder(&mut self) -> Recorder<'_> {
        Recorder {
            buf: self.buf,
            policy: self.policy,
        }
    }

    /// `true` when content is captured (so `sensitive` arguments are converted).
    #[inline]
    pub fn captures_content(&self) -> bool {
        self.policy.captures()
    }

    /// Records a `sensitive` argument's content (the caller checked `captures_content`).
    pub fn sensitive(&mut self, content: Option<serde_json::Value>) {
        if let Some(c) = content {
            let slot = self.content_slot;
            self.recorder().sensitive(slot, c);
        }
    }
}

pub(super) fn find_attribute<'a>(kvs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    kvs.iter().rev().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}
