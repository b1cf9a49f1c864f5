//! The IDX format of (Fashion-)MNIST (LeCun et al.): a big-endian magic number `0x0000_08TT`
//! (`TT` = element type; `0x08` = unsigned byte), then one big-endian `u32` per dimension,
//! then the elements. [`read_idx`] reads it from any byte stream, checking the header before
//! reading the data: dimensions whose product overflows or exceeds [`MAX_IDX_BYTES`] are
//! refused before anything is allocated, and the data is read up to the size the header gives
//! (one byte more shows a file that is too long), so a compressed stream that never ends (a
//! "zip bomb") is not read to its end.

use std::io::Read;
use std::path::Path;

use crate::{DataError, Result};

/// The largest data an IDX file may hold: 2 GiB (Fashion-MNIST's largest file has 47 MB).
pub const MAX_IDX_BYTES: u64 = 1 << 31;

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The elements, row-major; exactly the product of `dims`.
    pub data: Vec<u8>,
}

/// Reads an IDX array of `n_dims` dimensions whose magic number must be `magic` from
/// `reader`; `origin` names the file in errors ([`DataError::Annotation`], or
/// [`DataError::Io`] when the stream itself fails, e.g. a corrupt gzip stream).
pub fn read_idx(
    mut reader: impl Read,
    origin: &Path,
    magic: u32,
    n_dims: usize,
) -> Result<IdxArray> {
    let bad = |message: String| DataError::Annotation {
        path: origin.to_path_buf(),
        message,
    };
    let io = |source| DataError::Io {
        path: origin.to_path_buf(),
        source,
    };
    let header_len = 4 * (n_dims + 1);
    let mut header = Vec::with_capacity(header_len);
    (&mut reader)
        .take(header_len as u64)
        .read_to_end(&mut header)
        .map_err(io)?;
    if header.len() < header_len {
        return Err(bad(format!(
            "file of {} bytes is shorter than its IDX header ({header_len} bytes)",
            header.len()
        )));
    }
    let word = |i: usize| {
        u32::from_be_bytes([
            header[4 * i],
            header[4 * i + 1],
            header[4 * i + 2],
            header[4 * i + 3],
        ])
    };
    if word(0) != magic {
        return Err(bad(format!(
            "IDX magic number is {:#010x}, expected {magic:#010x}",
            word(0)
        )));
    }
    let dims: Vec<usize> = (1..=n_dims).map(|i| word(i) as usize).collect();
    let size = dims
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
        .filter(|&n| n <= MAX_IDX_BYTES)
        .ok_or_else(|| {
            bad(format!(
                "IDX header says dimensions {dims:?}, more than the {MAX_IDX_BYTES} bytes an \
                 IDX file may hold"
            ))
        })?;
    let mut data = Vec::new();
    reader.take(size + 1).read_to_end(&mut data).map_err(io)?;
    if data.len() as u64 != size {
        let found = if data.len() as u64 > size {
            "more".to_string()
        } else {
            data.len().to_string()
        };
        return Err(bad(format!(
            "IDX header says dimensions {dims:?} ({size} bytes of data) but the file has \
             {found} bytes of data"
        )));
    }
    Ok(IdxArray { dims, data })
}
