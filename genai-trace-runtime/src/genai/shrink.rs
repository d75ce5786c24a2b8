//! Shortening JSON content to a byte limit while keeping it valid JSON of the
//! same shape: a message list stays a list (the oldest messages go first, the
//! newest stay), and long strings are cut at the end, by what their *escaped*
//! form takes in the serialised text.

use serde_json::Value as Json;

/// Marks where content was cut.
pub(crate) const ELLIPSIS: &str = "…";

/// `json` serialised in at most `max` bytes (when anything fits at all).
pub(crate) fn shrink_json(mut json: Json, max: usize) -> String {
    let mut text = json.to_string();
    if text.len() <= max {
        return text;
    }
    // A list (a conversation): drop from the oldest while the rest is over the
    // limit, keeping the newest item at least.
    if let Json::Array(items) = &mut json {
        let mut size = text.len();
        let mut dropped = 0;
        while dropped + 1 < items.len() && size > max {
            // The item and the comma after it.
            size -= items[dropped].to_string().len() + 1;
            dropped += 1;
        }
        if dropped > 0 {
            items.drain(..dropped);
            text = json.to_string();
        }
    }
    // Then cut the longest strings, each by just enough.
    while text.len() > max {
        let over = text.len() - max;
        let Some(longest) = longest_string(&mut json) else {
            break;
        };
        if longest.as_str() == ELLIPSIS || longest.is_empty() {
            break;
        }
        let escaped = escaped_len(longest);
        let keep = escaped.saturating_sub(over + ELLIPSIS.len());
        *longest = format!("{}{ELLIPSIS}", prefix_within(longest, keep));
        text = json.to_string();
    }
    if text.len() <= max {
        return text;
    }
    // Nothing fits: the emptiest value of the same shape.
    let empty = match json {
        Json::Array(_) => "[]",
        Json::Object(_) => "{}",
        _ => "\"…\"",
    };
    empty.to_owned()
}

/// The longest string leaf (by escaped length), where cutting frees the most.
fn longest_string(json: &mut Json) -> Option<&mut String> {
    match json {
        Json::String(s) => Some(s),
        Json::Array(items) => items
            .iter_mut()
            .filter_map(longest_string)
            .max_by_key(|s| escaped_len(s)),
        Json::Object(map) => map
            .values_mut()
            .filter_map(longest_string)
            .max_by_key(|s| escaped_len(s)),
        _ => None,
    }
}

/// Bytes `c` takes inside a JSON string, as `serde_json` writes it.
fn escaped_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Bytes `s` takes inside a JSON string (without the quotes).
fn escaped_len(s: &str) -> usize {
    s.chars().map(escaped_char_len).sum()
}

/// The longest prefix of `s` whose escaped form takes at most `budget` bytes.
fn prefix_within(s: &str, budget: usize) -> &str {
    let mut used = 0;
    for (at, c) in s.char_indices() {
        used += escaped_char_len(c);
        if used > budget {
            return &s[..at];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fits(text: &str, max: usize) -> Json {
        assert!(text.len() <= max, "{} bytes over a limit of {max}", text.len());
        serde_json::from_str(text).expect("valid JSON")
    }

    #[test]
    fn escaped_characters_are_counted_as_escaped() {
        // 100 KB of characters JSON must escape: the cut must keep close to the limit,
        // where measuring raw bytes kept a lone "…".
        let prompt = "\"\\\n".repeat(34_000);
        let max = 32 * 1024;
        let text = shrink_json(json!(prompt), max);
        let back = fits(&text, max);
        let kept = back.as_str().unwrap();
        assert!(text.len() > max - 16, "kept only {} bytes", text.len());
        assert!(kept.ends_with(ELLIPSIS) && prompt.starts_with(kept.trim_end_matches(ELLIPSIS)));
    }

    #[test]
    fn a_long_plain_prompt_keeps_nearly_the_whole_limit() {
        let prompt = "a".repeat(40 * 1024);
        let max = 32 * 1024;
        let text = shrink_json(
            json!([{"role": "user", "parts": [{"type": "text", "content": prompt}]}]),
            max,
        );
        fits(&text, max);
        assert!(text.len() > max - 16, "kept only {} of {max} bytes", text.len());
    }

    #[test]
    fn a_long_conversation_keeps_its_newest_messages_as_a_list() {
        let messages: Vec<Json> = (0..200)
            .map(|i| json!({"role": "user", "parts": [{"type": "text", "content": format!("{i}:{}", "x".repeat(1000))}]}))
            .collect();
        let max = 32 * 1024;
        let text = shrink_json(Json::Array(messages.clone()), max);
        let back = fits(&text, max);
        let kept = back.as_array().expect("still a list");
        assert!(kept.len() > 20 && kept.len() < 200, "{} messages", kept.len());
        assert_eq!(kept.last(), messages.last(), "the newest message is kept whole");
        assert_eq!(kept[0], messages[200 - kept.len()], "the oldest go first");
    }

    #[test]
    fn one_huge_message_is_cut_inside_and_stays_a_list() {
        let text = shrink_json(json!([{"role": "user", "content": "é".repeat(50_000)}]), 1000);
        let back = fits(&text, 1000);
        assert_eq!(back[0]["role"], "user");
        assert!(back[0]["content"].as_str().unwrap().ends_with(ELLIPSIS));
    }

    #[test]
    fn always_valid_and_within_the_limit() {
        let shapes = [
            json!("x".repeat(5000)),
            json!({"a": "\u{1}".repeat(3000), "b": ["\"".repeat(2000), 7, null]}),
            json!([[["deep".repeat(900)]], {"k": "v".repeat(900)}]),
            json!(["a", "b", "c"]),
        ];
        for shape in shapes {
            for max in [8, 20, 64, 300, 1000, 4096] {
                let text = shrink_json(shape.clone(), max);
                let back: Json = serde_json::from_str(&text).expect("valid JSON");
                if text.len() > max {
                    // Only the emptiest value of the shape may be over a tiny limit.
                    assert!(matches!(text.as_str(), "[]" | "{}" | "\"…\""), "{max}: {text}");
                }
                assert_eq!(back.is_array(), shape.is_array(), "{max}: the shape is kept");
            }
        }
    }
}
