//! Shared code of the examples.

pub mod service_app;
