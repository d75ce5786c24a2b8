//! Converting argument-derived expressions (`model = ...`, `attrs(...)`) into
//! OpenTelemetry attribute values.

use std::borrow::Cow;

use opentelemetry::{Array, StringValue, Value};

/// Converts an argument-derived expression into an attribute value.
///
/// Implemented for strings, integers, floats, booleans, `Option` (where `None`
/// records nothing), references and smart pointers, and slices/vectors of these.
/// Implement it for your own types to use them in `model = ...` or `attrs(...)`.
///
/// ```
/// use genai_trace_runtime::ToAttributeValue;
/// use opentelemetry::Value;
/// struct Model(&'static str);
/// impl ToAttributeValue for Model {
///     fn to_attribute_value(&self) -> Option<Value> { Some(Value::from(self.0)) }
/// }
/// assert_eq!(Model("gpt-4o").to_attribute_value(), Some(Value::from("gpt-4o")));
/// assert_eq!(None::<u32>.to_attribute_value(), None);
/// ```
pub trait ToAttributeValue {
    /// The value, or `None` to record nothing.
    fn to_attribute_value(&self) -> Option<Value>;
}

impl ToAttributeValue for str {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::String(StringValue::from(self.to_owned())))
    }
}
impl ToAttributeValue for String {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::String(StringValue::from(self.clone())))
    }
}
impl ToAttributeValue for Cow<'_, str> {
    fn to_attribute_value(&self) -> Option<Value> {
        self.as_ref().to_attribute_value()
    }
}
impl ToAttributeValue for bool {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
}
impl ToAttributeValue for Value {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(self.clone())
    }
}
macro_rules! int_attr {
    ($($t:ty),*) => {$(
        impl ToAttributeValue for $t {
            fn to_attribute_value(&self) -> Option<Value> {
                Some(Value::I64(i64::try_from(*self).unwrap_or(i64::MAX)))
            }
        }
    )*};
}
int_attr!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);
impl ToAttributeValue for f64 {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::F64(*self))
    }
}
impl ToAttributeValue for f32 {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::F64(f64::from(*self)))
    }
}
impl<T: ToAttributeValue + ?Sized> ToAttributeValue for &T {
    fn to_attribute_value(&self) -> Option<Value> {
        (**self).to_attribute_value()
    }
}
impl<T: ToAttributeValue + ?Sized> ToAttributeValue for Box<T> {
    fn to_attribute_value(&self) -> Option<Value> {
        (**self).to_attribute_value()
    }
}
impl<T: ToAttributeValue + ?Sized> ToAttributeValue for std::sync::Arc<T> {
    fn to_attribute_value(&self) -> Option<Value> {
        (**self).to_attribute_value()
    }
}
impl<T: ToAttributeValue> ToAttributeValue for Option<T> {
    fn to_attribute_value(&self) -> Option<Value> {
        self.as_ref().and_then(T::to_attribute_value)
    }
}
impl<T: ToAttributeValue> ToAttributeValue for [T] {
    /// Homogeneous arrays only (as OpenTelemetry requires); mixed or nested → nothing.
    fn to_attribute_value(&self) -> Option<Value> {
        let values: Vec<Value> = self.iter().filter_map(T::to_attribute_value).collect();
        match values.first() {
            None => Some(Value::Array(Array::String(Vec::new()))),
            Some(Value::String(_)) => values
                .into_iter()
                .map(|v| if let Value::String(s) = v { Some(s) } else { None })
                .collect::<Option<Vec<_>>>()
                .map(|a| Value::Array(Array::String(a))),
            Some(Value::I64(_)) => values
                .iter()
                .map(|v| if let Value::I64(i) = v { Some(*i) } else { None })
                .collect::<Option<Vec<_>>>()
                .map(|a| Value::Array(Array::I64(a))),
            Some(Value::F64(_)) => values
                .iter()
                .map(|v| if let Value::F64(f) = v { Some(*f) } else { None })
                .collect::<Option<Vec<_>>>()
                .map(|a| Value::Array(Array::F64(a))),
            Some(Value::Bool(_)) => values
                .iter()
                .map(|v| if let Value::Bool(b) = v { Some(*b) } else { None })
                .collect::<Option<Vec<_>>>()
                .map(|a| Value::Array(Array::Bool(a))),
            Some(_) => None,
        }
    }
}
impl<T: ToAttributeValue> ToAttributeValue for Vec<T> {
    fn to_attribute_value(&self) -> Option<Value> {
        self.as_slice().to_attribute_value()
    }
}
impl<T: ToAttributeValue, const N: usize> ToAttributeValue for [T; N] {
    fn to_attribute_value(&self) -> Option<Value> {
        self.as_slice().to_attribute_value()
    }
}
