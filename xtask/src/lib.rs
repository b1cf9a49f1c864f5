//! Library side of `cargo xtask`: the `fetch-data` machinery, kept out of `main.rs` so that
//! integration tests can drive it with their own manifests, data roots and HTTP servers.

pub mod fetch;
