//! What a call cost, from a price table the user supplies: USD per million
//! tokens for each model, matched against the model a call used.
//!
//! There is no built-in table: prices change, and a table that goes stale
//! silently prints wrong numbers. docs/cost.md has the format and the rules.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use serde_json::Value as Json;

use crate::base::diag;
use crate::genai::message::Usage;

/// The price of one model, in USD per million tokens.
///
/// `cache_read` and `cache_creation` are the prices of input tokens read from
/// or written to the provider's prompt cache; when absent, those tokens cost
/// `input`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelPrice {
    /// Uncached input tokens.
    pub input: f64,
    /// Output tokens (reasoning tokens included, as providers bill them).
    pub output: f64,
    /// Input tokens read from the prompt cache.
    pub cache_read: Option<f64>,
    /// Input tokens written to the prompt cache.
    pub cache_creation: Option<f64>,
}

impl ModelPrice {
    /// A price without cache prices: cached tokens cost `input`.
    pub fn new(input: f64, output: f64) -> Self {
        ModelPrice {
            input,
            output,
            cache_read: None,
            cache_creation: None,
        }
    }

    /// The USD cost of `usage`, or `None` when it counts no token at all.
    ///
    /// `input_tokens` includes cached tokens (the conventions' meaning): the
    /// cache reads and writes are taken out of it and priced at their own rates.
    ///
    /// ```
    /// use genai_trace_runtime::{ModelPrice, Usage};
    /// let price = ModelPrice { cache_read: Some(1.25), ..ModelPrice::new(2.5, 10.0) };
    /// let usage = Usage {
    ///     input_tokens: Some(1_000_000),
    ///     output_tokens: Some(100_000),
    ///     cache_read_input_tokens: Some(400_000),
    ///     ..Usage::default()
    /// };
    /// // 600k uncached at $2.50, 400k cached at $1.25, 100k out at $10.
    /// assert_eq!(price.cost(&usage), Some(1.5 + 0.5 + 1.0));
    /// ```
    pub fn cost(&self, usage: &Usage) -> Option<f64> {
        if usage.input_tokens.is_none() && usage.output_tokens.is_none() {
            return None;
        }
        let tokens = |n: Option<i64>| n.unwrap_or(0).max(0) as f64;
        let input = tokens(usage.input_tokens);
        let cache_read = tokens(usage.cache_read_input_tokens).min(input);
        let cache_creation = tokens(usage.cache_creation_input_tokens).min(input - cache_read);
        let uncached = input - cache_read - cache_creation;
        let per_million = uncached * self.input
            + cache_read * self.cache_read.unwrap_or(self.input)
            + cache_creation * self.cache_creation.unwrap_or(self.input)
            + tokens(usage.output_tokens) * self.output;
        Some(per_million / 1_000_000.0)
    }
}

/// A table of model prices: `GENAI_TRACE_PRICES=/path/prices.json`, or
/// [`TelemetryBuilder::prices`](crate::TelemetryBuilder::prices).
///
/// A model is matched by its name, response model before request model: an
/// exact key first, then the longest key that is a prefix of the name
/// (`gpt-4o-2024-08-06` → `gpt-4o`), each tried on the name as given and then
/// without a `provider/` prefix (`openai/gpt-4o` → `gpt-4o`). A model that
/// matches no key gets no cost, and one warning.
///
/// ```
/// use genai_trace_runtime::{ModelPrice, PriceTable};
/// let table = PriceTable::from_json(r#"{
///     "gpt-4o": {"input": 2.5, "output": 10.0, "cache_read": 1.25},
///     "gpt-4o-mini": {"input": 0.15, "output": 0.6}
/// }"#).unwrap();
/// assert_eq!(table.lookup("gpt-4o-2024-08-06").unwrap().0, "gpt-4o");
/// assert_eq!(table.lookup("openai/gpt-4o-mini").unwrap().0, "gpt-4o-mini");
/// assert!(table.lookup("claude-sonnet-4").is_none());
/// ```
pub struct PriceTable {
    exact: HashMap<String, ModelPrice>,
    /// Keys, longest first: the first that prefixes a name is the longest match.
    by_length: Vec<String>,
    /// Models already warned about as unpriced.
    warned: Mutex<HashSet<String>>,
}

impl fmt::Debug for PriceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PriceTable")
            .field("models", &self.by_length)
            .finish_non_exhaustive()
    }
}

impl Clone for PriceTable {
    fn clone(&self) -> Self {
        PriceTable {
            exact: self.exact.clone(),
            by_length: self.by_length.clone(),
            warned: Mutex::default(),
        }
    }
}

impl Default for PriceTable {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a price table could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTableError(String);

impl fmt::Display for PriceTableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PriceTableError {}

impl PriceTable {
    /// An empty table.
    pub fn new() -> Self {
        PriceTable {
            exact: HashMap::new(),
            by_length: Vec::new(),
            warned: Mutex::default(),
        }
    }

    /// Adds (or replaces) the price of `model`.
    pub fn with_price(mut self, model: impl Into<String>, price: ModelPrice) -> Self {
        let model = model.into();
        if self.exact.insert(model.clone(), price).is_none() {
            self.by_length.push(model);
            self.by_length
                .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        }
        self
    }

    /// Models in the table.
    pub fn len(&self) -> usize {
        self.exact.len()
    }

    /// `true` when the table prices no model.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
    }

    /// Reads a table from JSON: an object mapping each model name to
    /// `{"input": USD, "output": USD, "cache_read": USD, "cache_creation": USD}`
    /// per million tokens (the cache prices optional).
    ///
    /// # Errors
    ///
    /// Invalid JSON, a price that is missing, negative or not a number, or an
    /// unknown field (a misspelt `cache_read` would otherwise price cached tokens
    /// at the input rate without a word).
    pub fn from_json(json: &str) -> Result<Self, PriceTableError> {
        let value: Json = serde_json::from_str(json).map_err(|e| PriceTableError(format!("not valid JSON: {e}")))?;
        let Json::Object(models) = value else {
            return Err(PriceTableError(
                "expected an object mapping model names to prices".to_owned(),
            ));
        };
        let mut table = PriceTable::new();
        for (model, entry) in models {
            let price = parse_price(&entry).map_err(|why| PriceTableError(format!("model {model:?}: {why}")))?;
            table = table.with_price(model, price);
        }
        Ok(table)
    }

    /// Reads a table from a JSON file (see [`PriceTable::from_json`]).
    ///
    /// # Errors
    ///
    /// The file cannot be read, or its content is not a valid table.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PriceTableError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| PriceTableError(format!("cannot read {}: {e}", path.display())))?;
        Self::from_json(&text).map_err(|e| PriceTableError(format!("{}: {e}", path.display())))
    }

    /// The key and price that `model` matches, by the rules on [`PriceTable`].
    pub fn lookup(&self, model: &str) -> Option<(&str, &ModelPrice)> {
        let unprefixed = model.rsplit_once('/').map(|(_, m)| m).filter(|m| !m.is_empty());
        let names = std::iter::once(model).chain(unprefixed);
        for name in names.clone() {
            if let Some((key, price)) = self.exact.get_key_value(name) {
                return Some((key, price));
            }
        }
        for name in names {
            if let Some(key) = self.by_length.iter().find(|k| name.starts_with(k.as_str())) {
                return self.exact.get_key_value(key.as_str()).map(|(k, p)| (k.as_str(), p));
            }
        }
        None
    }

    /// The cost of `usage` on the first of `models` that is set, warning once
    /// per model the table does not price.
    pub(crate) fn cost_of(&self, model: Option<&str>, usage: &Usage) -> Option<f64> {
        if usage.input_tokens.is_none() && usage.output_tokens.is_none() {
            return None;
        }
        let model = model?;
        match self.lookup(model) {
            Some((_, price)) => price.cost(usage),
            None => {
                self.warn_unpriced(model);
                None
            }
        }
    }

    #[cold]
    fn warn_unpriced(&self, model: &str) {
        let mut warned = self.warned.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Bounded: a program that sends thousands of model names warns about the first 100.
        if warned.len() < 100 && warned.insert(model.to_owned()) {
            diag::warn(format_args!(
                "GENAI_TRACE_PRICES: no price for model {model:?}; its calls get no genai_trace.usage.cost \
                 (add the model, or a prefix of its name, to the price table)"
            ));
        }
    }
}

fn parse_price(entry: &Json) -> Result<ModelPrice, String> {
    let Json::Object(fields) = entry else {
        return Err("expected an object with \"input\" and \"output\" prices".to_owned());
    };
    let mut price = ModelPrice::new(f64::NAN, f64::NAN);
    for (field, value) in fields {
        let usd = value
            .as_f64()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("{field:?} must be a non-negative number (USD per million tokens)"))?;
        match field.as_str() {
            "input" => price.input = usd,
            "output" => price.output = usd,
            "cache_read" => price.cache_read = Some(usd),
            "cache_creation" => price.cache_creation = Some(usd),
            other => {
                return Err(format!(
                    "unknown field {other:?} (expected input, output, cache_read, cache_creation)"
                ));
            }
        }
    }
    for (name, v) in [("input", price.input), ("output", price.output)] {
        if v.is_nan() {
            return Err(format!("{name:?} is missing"));
        }
    }
    Ok(price)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: i64, output: i64, cache_read: Option<i64>, cache_creation: Option<i64>) -> Usage {
        Usage {
            input_tokens: Some(input),
            output_tokens: Some(output),
            cache_read_input_tokens: cache_read,
            cache_creation_input_tokens: cache_creation,
            reasoning_output_tokens: None,
        }
    }

    fn cents(usd: Option<f64>) -> Option<i64> {
        usd.map(|u| (u * 100.0).round() as i64)
    }

    fn table() -> PriceTable {
        PriceTable::from_json(
            r#"{"gpt-4o": {"input": 2.5, "output": 10.0, "cache_read": 1.25, "cache_creation": 3.75},
                "gpt-4o-mini": {"input": 0.15, "output": 0.6},
                "claude-3-5-sonnet": {"input": 3.0, "output": 15.0, "cache_read": 0.3}}"#,
        )
        .unwrap()
    }

    #[test]
    fn uncached_usage_is_input_and_output_at_their_rates() {
        let t = table();
        // 12,000 in at $2.50/M = $0.03; 3,000 out at $10/M = $0.03.
        let cost = t.cost_of(Some("gpt-4o"), &usage(12_000, 3_000, None, None));
        assert_eq!(cents(cost), Some(6));
        assert!((cost.unwrap() - 0.06).abs() < 1e-12);
    }

    #[test]
    fn cache_reads_and_writes_are_taken_out_of_input_and_priced_apart() {
        let t = table();
        // 1M input of which 600k cache reads and 100k cache writes: 300k at 2.5 =
        // 0.75, 600k at 1.25 = 0.75, 100k at 3.75 = 0.375; 200k out at 10 = 2.0.
        let cost = t.cost_of(Some("gpt-4o"), &usage(1_000_000, 200_000, Some(600_000), Some(100_000)));
        assert!((cost.unwrap() - 3.875).abs() < 1e-9, "{cost:?}");
        // Without a cache_creation price, writes cost input; without cache_read, reads do.
        let cost = t.cost_of(Some("gpt-4o-mini"), &usage(1_000_000, 0, Some(500_000), Some(500_000)));
        assert!((cost.unwrap() - 0.15).abs() < 1e-12, "{cost:?}");
        let cost = t.cost_of(Some("claude-3-5-sonnet"), &usage(1_000_000, 0, None, Some(1_000_000)));
        assert!((cost.unwrap() - 3.0).abs() < 1e-12, "{cost:?}");
    }

    #[test]
    fn cached_counts_larger_than_input_never_give_a_negative_cost() {
        let t = table();
        let cost = t.cost_of(Some("gpt-4o"), &usage(100, 0, Some(500), Some(500))).unwrap();
        // All 100 input tokens are cache reads; nothing else is counted twice.
        assert!((cost - 100.0 * 1.25 / 1e6).abs() < 1e-15, "{cost}");
    }

    #[test]
    fn matching_exact_then_longest_prefix_then_without_provider() {
        let t = table();
        assert_eq!(t.lookup("gpt-4o").unwrap().0, "gpt-4o");
        assert_eq!(t.lookup("gpt-4o-2024-08-06").unwrap().0, "gpt-4o");
        assert_eq!(t.lookup("gpt-4o-mini-2024-07-18").unwrap().0, "gpt-4o-mini");
        assert_eq!(t.lookup("openai/gpt-4o").unwrap().0, "gpt-4o");
        assert_eq!(t.lookup("openrouter/openai/gpt-4o-mini").unwrap().0, "gpt-4o-mini");
        assert_eq!(
            t.lookup("anthropic/claude-3-5-sonnet-20241022").unwrap().0,
            "claude-3-5-sonnet"
        );
        assert!(t.lookup("gpt-4").is_none(), "a key longer than the name never matches");
        assert!(t.lookup("o1-preview").is_none());
        assert!(t.lookup("openai/").is_none());
        // An exact key that contains the provider wins over the bare model.
        let t = table().with_price("azure/gpt-4o", ModelPrice::new(5.0, 15.0));
        assert_eq!(t.lookup("azure/gpt-4o").unwrap().0, "azure/gpt-4o");
        assert_eq!(t.lookup("openai/gpt-4o").unwrap().0, "gpt-4o");
    }

    #[test]
    fn unpriced_models_and_usage_without_tokens_get_no_cost() {
        let t = table();
        assert_eq!(t.cost_of(Some("llama3"), &usage(10, 10, None, None)), None);
        assert_eq!(t.cost_of(None, &usage(10, 10, None, None)), None);
        assert_eq!(t.cost_of(Some("gpt-4o"), &Usage::default()), None);
        assert!(t.warned.lock().unwrap().contains("llama3"));
        // Only input tokens (embeddings): priced.
        let only_input = Usage {
            input_tokens: Some(1_000_000),
            ..Usage::default()
        };
        assert_eq!(t.cost_of(Some("gpt-4o"), &only_input), Some(2.5));
    }

    #[test]
    fn bad_tables_say_what_is_wrong() {
        let err = |json: &str| PriceTable::from_json(json).unwrap_err().to_string();
        assert!(err("[1]").contains("expected an object"), "{}", err("[1]"));
        assert!(err("{").contains("not valid JSON"));
        assert!(err(r#"{"m": {"input": 1}}"#).contains(r#""output" is missing"#));
        assert!(err(r#"{"m": {"input": -1, "output": 1}}"#).contains("non-negative"));
        assert!(err(r#"{"m": {"input": "1", "output": 1}}"#).contains("non-negative"));
        let e = err(r#"{"m": {"input": 1, "output": 1, "cached_input": 0.5}}"#);
        assert!(
            e.contains("unknown field \"cached_input\"") && e.contains("model \"m\""),
            "{e}"
        );
        let e = PriceTable::from_file("/nonexistent/prices.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read /nonexistent/prices.json"), "{e}");
    }
}
