//! The leaves: types every other layer uses and that use nothing of the crate —
//! attribute values, error and warning types, diagnostics, secrets, and the
//! span representation the hot path fills and the export queue carries.

pub(crate) mod attr_value;
pub(crate) mod diag;
pub(crate) mod errors;
pub(crate) mod secret;
pub(crate) mod span_data;
