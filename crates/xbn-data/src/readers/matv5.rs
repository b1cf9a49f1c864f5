//! A minimal reader of MATLAB level-5 MAT files (`.mat` as MATLAB ≥ 5 and scipy write them,
//! compressed or not): numeric, character, cell and struct arrays — enough for Cars196's
//! `cars_annos.mat`. `matfile` (the Rust crate) reads numeric arrays only, hence this module.
//!
//! Layout (MathWorks, "MAT-File Format", level 5): a 128-byte header whose last two bytes are
//! the endian indicator `IM`, then data elements, each an 8-byte tag `(type: u32, bytes: u32)`
//! (or a 4-byte "small element" tag packing both into one word) and its data padded to 8 bytes.
//! Type 15 (`miCOMPRESSED`) holds a zlib stream of further elements; type 14 (`miMATRIX`) holds
//! array flags, dimensions, a name and the class-specific data.

use std::io::Read;
use std::path::Path;

use flate2::read::ZlibDecoder;

use crate::{DataError, Result};

const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;

/// A MATLAB array (column-major element order).
#[derive(Debug, Clone, PartialEq)]
pub enum MatValue {
    /// A numeric array of any class, widened to `f64`.
    Numeric(Vec<f64>),
    /// A character array as one string (column-major characters).
    Char(String),
    /// A cell array.
    Cell(Vec<MatValue>),
    /// A struct array: field names and, per element, one value per field.
    Struct {
        /// The field names.
        fields: Vec<String>,
        /// Per element of the array, one value per field, in the order of `fields`.
        elements: Vec<Vec<MatValue>>,
    },
    /// Any other class (sparse, object, function handle…), not read.
    Unsupported(u8),
}

impl MatValue {
    /// Field `name` of struct element `element`.
    pub fn field(&self, element: usize, name: &str) -> Option<&MatValue> {
        let MatValue::Struct { fields, elements } = self else {
            return None;
        };
        let f = fields.iter().position(|n| n == name)?;
        elements.get(element)?.get(f)
    }
}

/// The most bytes the compressed elements of one file may inflate to (256 MiB; Cars196's
/// `cars_annos.mat` inflates to about 2 MB): a larger claim is refused, not allocated.
pub const MAX_INFLATED_BYTES: u64 = 1 << 28;
/// The deepest nesting of cell and struct arrays read.
pub const MAX_DEPTH: usize = 16;

/// Reads the named top-level variables of a MAT file.
pub fn read_mat(path: &Path) -> Result<Vec<(String, MatValue)>> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_mat(&bytes, path)
}

/// Parses the named top-level variables of a MAT file given as bytes; `origin` names it in
/// errors ([`DataError::Annotation`]).
pub fn parse_mat(bytes: &[u8], origin: &Path) -> Result<Vec<(String, MatValue)>> {
    let bad = |m: String| DataError::Annotation {
        path: origin.to_path_buf(),
        message: m,
    };
    if bytes.len() < 128 || &bytes[126..128] != b"IM" {
        return Err(bad(
            "not a little-endian level-5 MAT file (no `IM` at byte 126)".into(),
        ));
    }
    let mut out = Vec::new();
    let mut budget = MAX_INFLATED_BYTES;
    parse_elements(&bytes[128..], &mut out, &mut budget).map_err(bad)?;
    Ok(out)
}

type Parse<T> = std::result::Result<T, String>;

fn u32_at(b: &[u8], at: usize) -> Parse<u32> {
    b.get(at..at + 4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .ok_or_else(|| format!("truncated at byte {at}"))
}

/// One data element at the start of `b`: `(type, data, total length with padding)`.
fn element(b: &[u8]) -> Parse<(u32, &[u8], usize)> {
    let first = u32_at(b, 0)?;
    if first >> 16 != 0 {
        let n = (first >> 16) as usize;
        let data = b.get(4..4 + n).ok_or("truncated small element")?;
        return Ok((first & 0xffff, data, 8));
    }
    let n = u32_at(b, 4)? as usize;
    let data = b
        .get(8..8 + n)
        .ok_or_else(|| format!("element of {n} bytes truncated"))?;
    let padded = if first == MI_COMPRESSED {
        8 + n
    } else {
        8 + n.div_ceil(8) * 8
    };
    Ok((first, data, padded.min(b.len())))
}

/// Top-level elements: named matrices, compressed or not. `budget` is what compressed
/// elements may still inflate to.
fn parse_elements(mut b: &[u8], out: &mut Vec<(String, MatValue)>, budget: &mut u64) -> Parse<()> {
    while b.len() >= 8 {
        let (kind, data, len) = element(b)?;
        match kind {
            MI_COMPRESSED => {
                let mut inner = Vec::new();
                ZlibDecoder::new(data)
                    .take(*budget + 1)
                    .read_to_end(&mut inner)
                    .map_err(|e| format!("zlib: {e}"))?;
                if inner.len() as u64 > *budget {
                    return Err(format!(
                        "compressed elements inflate to more than {MAX_INFLATED_BYTES} bytes"
                    ));
                }
                *budget -= inner.len() as u64;
                parse_elements(&inner, out, budget)?;
            }
            MI_MATRIX => out.push(matrix(data, 0)?),
            _ => {}
        }
        b = &b[len..];
    }
    Ok(())
}

/// Numbers of a numeric data element, by its storage type (MATLAB may store a double array as
/// `miUINT8` when the values fit).
fn numbers(kind: u32, d: &[u8]) -> Parse<Vec<f64>> {
    let w = |n: usize| d.chunks_exact(n);
    Ok(match kind {
        1 => d.iter().map(|&v| v as i8 as f64).collect(),
        2 | 16 => d.iter().map(|&v| v as f64).collect(),
        3 => w(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]) as f64)
            .collect(),
        4 | 17 => w(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]) as f64)
            .collect(),
        5 => w(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect(),
        6 => w(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect(),
        7 => w(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect(),
        9 => w(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect(),
        12 => w(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64)
            .collect(),
        13 => w(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64)
            .collect(),
        other => return Err(format!("unknown numeric storage type {other}")),
    })
}

/// The next sub-element of a matrix, advancing `d` past it.
fn next(d: &mut &[u8]) -> Parse<(u32, Vec<u8>)> {
    let (kind, data, len) = element(d)?;
    let data = data.to_vec();
    *d = &d[len.min(d.len())..];
    Ok((kind, data))
}

/// Checks that `count` elements of `per_element` sub-arrays, each at least an 8-byte tag, fit in
/// `available` bytes, so that no claim larger than the data is allocated.
fn fits(count: usize, per_element: usize, available: usize) -> Parse<()> {
    if count.saturating_mul(per_element).saturating_mul(8) > available {
        return Err(format!(
            "{count} elements of {per_element} sub-arrays each do not fit in {available} bytes"
        ));
    }
    Ok(())
}

/// An `miMATRIX` element's contents, `depth` arrays deep: `(name, value)`.
fn matrix(d: &[u8], depth: usize) -> Parse<(String, MatValue)> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "cell or struct arrays nested more than {MAX_DEPTH} deep"
        ));
    }
    if d.is_empty() {
        return Ok((String::new(), MatValue::Numeric(Vec::new())));
    }
    let mut d = d;
    let (_, flags) = next(&mut d)?;
    let class = *flags.first().ok_or("empty array flags")?;
    let (_, dims) = next(&mut d)?;
    let dims = numbers(5, &dims)?;
    let count = dims
        .iter()
        .try_fold(1usize, |n, &v| n.checked_mul(v as usize))
        .filter(|&n| n <= d.len())
        .ok_or_else(|| format!("array dimensions {dims:?} exceed the data"))?;
    let (_, name) = next(&mut d)?;
    let name = String::from_utf8_lossy(&name).into_owned();
    let value = match class {
        1 => {
            fits(count, 1, d.len())?;
            let mut cells = Vec::with_capacity(count);
            for _ in 0..count {
                let (_, m) = next(&mut d)?;
                cells.push(matrix(&m, depth + 1)?.1);
            }
            MatValue::Cell(cells)
        }
        2 => {
            let (_, len) = next(&mut d)?;
            let len = numbers(5, &len)?.first().copied().unwrap_or(0.0) as usize;
            let (_, names) = next(&mut d)?;
            let fields: Vec<String> = names
                .chunks(len.max(1))
                .map(|c| {
                    String::from_utf8_lossy(c)
                        .trim_end_matches('\0')
                        .to_string()
                })
                .collect();
            fits(count, fields.len().max(1), d.len())?;
            let mut elements = Vec::with_capacity(count);
            for _ in 0..count {
                let mut values = Vec::with_capacity(fields.len());
                for _ in &fields {
                    let (_, m) = next(&mut d)?;
                    values.push(matrix(&m, depth + 1)?.1);
                }
                elements.push(values);
            }
            MatValue::Struct { fields, elements }
        }
        4 => {
            let (kind, data) = next(&mut d)?;
            let text = match kind {
                4 | 17 => char::decode_utf16(numbers(4, &data)?.iter().map(|&v| v as u16))
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect(),
                _ => String::from_utf8_lossy(&data).into_owned(),
            };
            MatValue::Char(text)
        }
        6..=15 => {
            let (kind, data) = next(&mut d)?;
            MatValue::Numeric(numbers(kind, &data)?)
        }
        other => MatValue::Unsupported(other),
    };
    Ok((name, value))
}
