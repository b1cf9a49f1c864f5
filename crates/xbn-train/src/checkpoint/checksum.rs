//! The checksum a checkpoint carries in its metadata (`sha256`): SHA-256 over every tensor's
//! name, dtype, shape and bytes, in name order, then every other metadata entry, in key order.
//! It is computed before writing and again from the file's contents when reading, so a damaged
//! or truncated tensor, a renamed tensor, a changed shape or an edited metadata value (the
//! iteration, say) are all caught.

use std::collections::HashMap;

use safetensors::{Dtype, View};
use sha2::{Digest, Sha256};

/// Metadata key of the checksum (lowercase hex SHA-256).
pub const KEY: &str = "sha256";

/// Whether `value` looks like a checksum this version writes (64 lowercase hex digits).
pub fn looks_like_checksum(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Incremental checksum over tensors fed in name order.
#[derive(Default)]
pub struct TensorDigest(Sha256);

impl TensorDigest {
    /// Adds one tensor.
    pub fn add(&mut self, name: &str, dtype: Dtype, shape: &[usize], data: &[u8]) {
        let h = &mut self.0;
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        let dtype = format!("{dtype:?}");
        h.update((dtype.len() as u64).to_le_bytes());
        h.update(dtype.as_bytes());
        h.update((shape.len() as u64).to_le_bytes());
        for &d in shape {
            h.update((d as u64).to_le_bytes());
        }
        h.update((data.len() as u64).to_le_bytes());
        h.update(data);
    }

    /// Adds the metadata entries other than [`KEY`], in key order.
    pub fn add_metadata(&mut self, metadata: &HashMap<String, String>) {
        let mut entries: Vec<(&String, &String)> =
            metadata.iter().filter(|(k, _)| k.as_str() != KEY).collect();
        entries.sort();
        let h = &mut self.0;
        h.update((entries.len() as u64).to_le_bytes());
        for (k, v) in entries {
            for part in [k, v] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
        }
    }

    /// The checksum as lowercase hex.
    pub fn hex(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// The checksum of named tensors (any order; they are sorted by name) and metadata.
pub fn of_views<V: View>(tensors: &[(&str, V)], metadata: &HashMap<String, String>) -> String {
    let mut sorted: Vec<&(&str, V)> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut d = TensorDigest::default();
    for (name, v) in sorted {
        d.add(name, v.dtype(), v.shape(), &v.data());
    }
    d.add_metadata(metadata);
    d.hex()
}

/// The checksum of the tensors of a parsed safetensors file and of its metadata.
pub fn of_file(st: &safetensors::SafeTensors<'_>, metadata: &HashMap<String, String>) -> String {
    let mut names: Vec<&str> = st.names();
    names.sort_unstable();
    let mut d = TensorDigest::default();
    for name in names {
        if let Ok(v) = st.tensor(name) {
            d.add(name, v.dtype(), v.shape(), v.data());
        }
    }
    d.add_metadata(metadata);
    d.hex()
}
