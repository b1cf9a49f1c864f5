//! A bounded `.npy` reader: the header is capped at [`MAX_NPY_HEADER`] bytes and the data size
//! its shape implies is checked (without overflow) against the file's length before anything of
//! that size is allocated. candle's `Tensor::read_npy` allocates what the header claims (a
//! header claiming 10¹² elements aborts the process) and multiplies the shape unchecked.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::{EvalError, Result};

/// Largest `.npy` header accepted, in bytes (numpy refuses headers above 10 000 bytes by
/// default; a 64-dimensional shape of 20-digit numbers fits in 2 KiB).
pub const MAX_NPY_HEADER: usize = 64 * 1024;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Reads a C-ordered (or rank ≤ 1 Fortran-ordered) little-endian `.npy` array of f16, f32,
/// f64, i16, i32, i64, u8, u32 or bool into a CPU tensor. Every malformed, truncated or
/// oversized input gives [`EvalError::Format`] (or [`EvalError::Io`]) naming `path`.
pub fn read_npy(path: &Path) -> Result<Tensor> {
    let io = |source| EvalError::Io {
        path: path.into(),
        source,
    };
    let bad = |reason: String| EvalError::Format {
        path: path.into(),
        reason: format!("not a valid .npy file: {reason}"),
    };
    let mut file = File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let mut prefix = [0u8; 8];
    read_exact_or(&mut file, &mut prefix, || {
        bad("shorter than its 8-byte prefix".into())
    })?;
    if &prefix[..6] != MAGIC {
        return Err(bad("no \\x93NUMPY magic string".into()));
    }
    let (len_bytes, version) = match prefix[6] {
        1 => (2usize, 1),
        2 | 3 => (4, prefix[6]),
        v => return Err(bad(format!("unsupported format version {v}.{}", prefix[7]))),
    };
    let mut len_buf = [0u8; 4];
    read_exact_or(&mut file, &mut len_buf[..len_bytes], || {
        bad("truncated header length".into())
    })?;
    let header_len = u32::from_le_bytes(len_buf) as usize;
    let data_start = 8 + len_bytes as u64 + header_len as u64;
    if header_len > MAX_NPY_HEADER {
        return Err(bad(format!(
            "header of {header_len} bytes (version {version}; at most {MAX_NPY_HEADER} accepted)"
        )));
    }
    if data_start > file_len {
        return Err(bad(format!(
            "header of {header_len} bytes but the file has {file_len} bytes"
        )));
    }
    let mut header = vec![0u8; header_len];
    read_exact_or(&mut file, &mut header, || bad("truncated header".into()))?;
    let header = std::str::from_utf8(&header).map_err(|e| bad(format!("header: {e}")))?;
    let h = parse_header(header).map_err(|e| bad(format!("header `{}`: {e}", header.trim())))?;
    if h.fortran_order && h.shape.len() > 1 {
        return Err(bad(format!(
            "Fortran-ordered array of shape {:?} (save it C-ordered: np.ascontiguousarray)",
            h.shape
        )));
    }
    if !dims_product_fits(&h.shape) {
        return Err(bad(format!(
            "shape {:?}: the product of its dimensions overflows",
            h.shape
        )));
    }
    let elems = h
        .shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n));
    let bytes = elems.and_then(|n| n.checked_mul(h.dtype.size_in_bytes()));
    let available = file_len - data_start;
    let needed = match bytes {
        Some(b) if (b as u64) <= available => b,
        _ => {
            return Err(bad(format!(
                "shape {:?} of {:?} needs {} bytes of data but the file holds {available}",
                h.shape,
                h.dtype,
                bytes.map_or_else(|| "more than 2^64".to_string(), |b| b.to_string()),
            )));
        }
    };
    let mut data = vec![0u8; needed];
    read_exact_or(&mut file, &mut data, || bad("truncated data".into()))?;
    Tensor::from_raw_buffer(&data, h.dtype, &h.shape, &Device::Cpu)
        .map_err(|e| bad(format!("cannot build the tensor: {e}")))
}

/// Whether the product of `shape`'s dimensions, zeros counted as 1, fits in `usize`. candle's
/// strides are products of trailing dimensions, so an empty `(0, 10¹², 2³²)` tensor (no data)
/// would still overflow (a panic in debug builds) when built.
pub(crate) fn dims_product_fits(shape: &[usize]) -> bool {
    shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n.max(1)))
        .is_some()
}

fn read_exact_or(file: &mut File, buf: &mut [u8], bad: impl FnOnce() -> EvalError) -> Result<()> {
    file.read_exact(buf).map_err(|_| bad())
}

/// The three keys of an `.npy` header.
#[derive(Debug, PartialEq)]
struct Header {
    dtype: DType,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// A value of the header's Python dict literal.
#[derive(Debug)]
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

/// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` (any key order,
/// single or double quotes, trailing comma and padding).
fn parse_header(text: &str) -> std::result::Result<Header, String> {
    let mut p = Parser {
        s: text.trim_end().as_bytes(),
        i: 0,
    };
    p.ws();
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.ws();
        p.expect(b':')?;
        p.ws();
        let value = p.value()?;
        match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr = Some(s),
            ("fortran_order", Value::Bool(b)) => fortran = Some(b),
            ("shape", Value::Tuple(t)) => shape = Some(t),
            (k @ ("descr" | "fortran_order" | "shape"), v) => {
                return Err(format!("unexpected value {v:?} for `{k}`"));
            }
            (k, _) => return Err(format!("unknown key `{k}`")),
        }
        p.ws();
        if !p.eat(b',') {
            p.ws();
            p.expect(b'}')?;
            break;
        }
    }
    p.ws();
    if p.i != p.s.len() {
        return Err("trailing characters after the dict".into());
    }
    let descr = descr.ok_or("no `descr`")?;
    Ok(Header {
        dtype: dtype_of(&descr)?,
        fortran_order: fortran.ok_or("no `fortran_order`")?,
        shape: shape.ok_or("no `shape`")?,
    })
}

/// The candle dtype of a numpy type string (`<f4`, `|u1`, `=i8`, …).
fn dtype_of(descr: &str) -> std::result::Result<DType, String> {
    let (order, code) = match descr.chars().next() {
        Some(c @ ('<' | '>' | '=' | '|')) => (c, &descr[1..]),
        _ => ('=', descr),
    };
    let dtype = match code {
        "f2" | "e" => DType::F16,
        "f4" | "f" => DType::F32,
        "f8" | "d" => DType::F64,
        "i2" | "h" => DType::I16,
        "i4" | "i" => DType::I32,
        "i8" | "q" => DType::I64,
        "u1" | "B" | "b1" | "?" => DType::U8,
        "u4" | "I" => DType::U32,
        _ => return Err(format!("unsupported dtype `{descr}`")),
    };
    if order == '>' && dtype.size_in_bytes() > 1 {
        return Err(format!("big-endian dtype `{descr}`"));
    }
    Ok(dtype)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{}` at byte {}", c as char, self.i))
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string at byte {}", self.i)),
        };
        let start = self.i + 1;
        let len = self.s[start..]
            .iter()
            .position(|&c| c == quote)
            .ok_or("unterminated string")?;
        self.i = start + len + 1;
        Ok(String::from_utf8_lossy(&self.s[start..start + len]).into_owned())
    }

    fn word(&mut self) -> &[u8] {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    fn value(&mut self) -> std::result::Result<Value, String> {
        match self.peek() {
            Some(b'\'' | b'"') => Ok(Value::Str(self.string()?)),
            Some(b'(') => {
                self.i += 1;
                let mut dims = Vec::new();
                loop {
                    self.ws();
                    if self.eat(b')') {
                        return Ok(Value::Tuple(dims));
                    }
                    let at = self.i;
                    let word = self.word();
                    // Python 2 wrote longs as `3L`.
                    let digits = word.strip_suffix(b"L").unwrap_or(word);
                    let n = std::str::from_utf8(digits)
                        .ok()
                        .filter(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
                        .ok_or_else(|| format!("expected a dimension at byte {at}"))?
                        .parse::<usize>()
                        .map_err(|e| format!("dimension at byte {at}: {e}"))?;
                    dims.push(n);
                    self.ws();
                    if !self.eat(b',') {
                        self.ws();
                        self.expect(b')')?;
                        return Ok(Value::Tuple(dims));
                    }
                }
            }
            _ => {
                let at = self.i;
                match self.word() {
                    b"True" => Ok(Value::Bool(true)),
                    b"False" => Ok(Value::Bool(false)),
                    _ => Err(format!("unexpected value at byte {at}")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_numpy_writes() {
        let h = parse_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }    \n");
        assert_eq!(
            h,
            Ok(Header {
                dtype: DType::F32,
                fortran_order: false,
                shape: vec![3, 4]
            })
        );
        let h = parse_header("{\"shape\": (7L,), \"fortran_order\": True, \"descr\": \"|b1\"}");
        assert_eq!(
            h,
            Ok(Header {
                dtype: DType::U8,
                fortran_order: true,
                shape: vec![7]
            })
        );
        let scalar = parse_header("{'descr': '<i8', 'fortran_order': False, 'shape': ()}");
        assert_eq!(scalar.map(|h| h.shape), Ok(vec![]));
    }

    #[test]
    fn rejects_malformed_headers() {
        for bad in [
            "",
            "{",
            "{'descr': '<f4'",
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '>f4', 'fortran_order': False, 'shape': (1,)}",
            "{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}",
            "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,)}",
            "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk",
        ] {
            assert!(parse_header(bad).is_err(), "accepted {bad:?}");
        }
    }
}
