//! The GenAI client metrics, created once per installation with the
//! conventions' explicit bucket boundaries.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};

use crate::base::span_data::MetricAttributes;
use crate::genai::semconv::{self as sc, metric};

/// One finished GenAI operation, as the metrics see it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FinishedOperation<'a> {
    pub seconds: f64,
    pub error_type: Option<&'a str>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    /// USD, from the price table.
    pub cost: Option<f64>,
}

/// `gen_ai.client.*` histograms.
#[derive(Debug)]
pub(crate) struct GenAiInstruments {
    pub duration: Histogram<f64>,
    pub tokens: Histogram<u64>,
    pub time_to_first_chunk: Histogram<f64>,
    pub time_per_output_chunk: Histogram<f64>,
    pub cost: Counter<f64>,
}

impl GenAiInstruments {
    pub(crate) fn new(meter: &Meter) -> Self {
        let seconds = |name: &'static str, what: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit(metric::UNIT_SECONDS)
                .with_description(what)
                .with_boundaries(metric::DURATION_BUCKETS.to_vec())
                .build()
        };
        Self {
            duration: seconds(metric::OPERATION_DURATION, "GenAI operation duration"),
            tokens: meter
                .u64_histogram(metric::TOKEN_USAGE)
                .with_unit(metric::UNIT_TOKEN)
                .with_description("Number of input and output tokens used")
                .with_boundaries(metric::TOKEN_BUCKETS.to_vec())
                .build(),
            time_to_first_chunk: seconds(
                metric::TIME_TO_FIRST_CHUNK,
                "Time to receive the first chunk of a streamed response",
            ),
            time_per_output_chunk: seconds(
                metric::TIME_PER_OUTPUT_CHUNK,
                "Time between chunks of a streamed response",
            ),
            cost: meter
                .f64_counter(metric::COST)
                .with_unit(metric::UNIT_USD)
                .with_description("Cost of GenAI operations in USD, from the configured price table")
                .build(),
        }
    }

    /// Records one finished operation: its duration (with `error.type` when it
    /// failed) and its input/output token counts.
    pub(crate) fn record_operation(&self, op: &FinishedOperation<'_>, attrs: &mut MetricAttributes) {
        let base = attrs.len();
        for (kind, n) in [
            (sc::token_type::INPUT, op.input_tokens),
            (sc::token_type::OUTPUT, op.output_tokens),
        ] {
            if let Some(n) = n.and_then(|n| u64::try_from(n).ok()) {
                attrs.push(KeyValue::new(sc::GEN_AI_TOKEN_TYPE, kind));
                self.tokens.record(n, attrs);
                attrs.truncate(base);
            }
        }
        if let Some(usd) = op.cost {
            // Provider and request model only: cost is summed per priced model.
            let priced: MetricAttributes = attrs
                .iter()
                .filter(|kv| matches!(kv.key.as_str(), sc::GEN_AI_PROVIDER_NAME | sc::GEN_AI_REQUEST_MODEL))
                .cloned()
                .collect();
            self.cost.add(usd, &priced);
        }
        if let Some(e) = op.error_type {
            attrs.push(KeyValue::new(sc::ERROR_TYPE, e.to_owned()));
        }
        self.duration.record(op.seconds, attrs);
        attrs.truncate(base);
    }
}
