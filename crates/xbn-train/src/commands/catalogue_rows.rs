//! A catalogue's embeddings, in memory or read from its safetensors file in blocks of rows, so
//! that a search holds one block at a time whatever the catalogue's size.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use safetensors::tensor::{Dtype, Metadata};

use crate::error::{Result, TrainError};

/// The `n × d` f32 embeddings of a catalogue.
#[derive(Debug, Clone)]
pub enum Embeddings {
    /// Held in memory.
    Loaded(Tensor),
    /// In a safetensors file, read on demand.
    OnDisk(EmbeddingRows),
}

impl Embeddings {
    /// `(n, d)`.
    pub fn dims(&self) -> Result<(usize, usize)> {
        match self {
            Embeddings::Loaded(t) => Ok(t.dims2()?),
            Embeddings::OnDisk(r) => Ok((r.rows, r.dim)),
        }
    }

    /// All rows as one `(n × d)` f32 tensor on the CPU.
    pub fn to_tensor(&self) -> Result<Tensor> {
        match self {
            Embeddings::Loaded(t) => Ok(t.to_dtype(DType::F32)?),
            Embeddings::OnDisk(r) => r.read(0, r.rows),
        }
    }

    /// Calls `f(first_row, block)` on consecutive blocks of at most `rows` rows, in order.
    pub fn for_each_block(
        &self,
        rows: usize,
        mut f: impl FnMut(usize, &Tensor) -> Result<()>,
    ) -> Result<()> {
        let (n, _) = self.dims()?;
        let step = rows.max(1);
        for r0 in (0..n).step_by(step) {
            let count = step.min(n - r0);
            let block = match self {
                Embeddings::Loaded(t) => t.narrow(0, r0, count)?.to_dtype(DType::F32)?,
                Embeddings::OnDisk(r) => r.read(r0, count)?,
            };
            f(r0, &block)?;
        }
        Ok(())
    }
}

/// Where the `embeddings` tensor (f32, `rows × dim`) lies in a safetensors file.
#[derive(Debug, Clone)]
pub struct EmbeddingRows {
    path: PathBuf,
    /// Byte offset of row 0 in the file.
    start: u64,
    rows: usize,
    dim: usize,
}

/// A safetensors file's header: its metadata and tensor layout, read without the data.
pub struct Header {
    /// The parsed header.
    pub metadata: Metadata,
    /// Byte offset of the data section in the file.
    pub data_start: u64,
}

fn bad(path: &Path, message: String) -> TrainError {
    TrainError::Catalogue {
        path: path.to_path_buf(),
        message,
    }
}

/// Reads and parses the header of the safetensors file `path`, checking that the data its
/// tensors claim lies within the file.
pub fn read_header(path: &Path) -> Result<Header> {
    let mut file = std::fs::File::open(path).map_err(|e| TrainError::io(path, e))?;
    let file_len = file.metadata().map_err(|e| TrainError::io(path, e))?.len();
    let mut n = [0u8; 8];
    file.read_exact(&mut n)
        .map_err(|e| bad(path, format!("not a safetensors file: {e}")))?;
    let n = u64::from_le_bytes(n);
    if n > super::catalogue::MAX_HEADER_BYTES as u64 || 8 + n > file_len {
        return Err(bad(
            path,
            format!("not a safetensors file (header length {n}, file {file_len} bytes)"),
        ));
    }
    let mut header = vec![0u8; n as usize];
    file.read_exact(&mut header)
        .map_err(|e| TrainError::io(path, e))?;
    let metadata: Metadata = serde_json::from_slice(&header)
        .map_err(|e| bad(path, format!("not a safetensors file: {e}")))?;
    let data_start = 8 + n;
    let data_len = metadata
        .tensors()
        .values()
        .map(|t| t.data_offsets.1)
        .max()
        .unwrap_or(0) as u64;
    if data_start + data_len > file_len {
        return Err(bad(
            path,
            format!(
                "truncated: its tensors need {} bytes, the file has {file_len}",
                data_start + data_len
            ),
        ));
    }
    Ok(Header {
        metadata,
        data_start,
    })
}

impl Header {
    /// The values of the i64 vector `name` of the file `path`, `None` when it has none.
    pub fn read_i64(&self, path: &Path, name: &str) -> Result<Option<Vec<i64>>> {
        let Some(info) = self.metadata.info(name) else {
            return Ok(None);
        };
        if info.dtype != Dtype::I64 || info.shape.len() != 1 {
            return Err(bad(
                path,
                format!(
                    "`{name}` is {:?} of shape {:?}, not an i64 vector",
                    info.dtype, info.shape
                ),
            ));
        }
        let (a, b) = info.data_offsets;
        if b - a != info.shape[0] * 8 {
            return Err(bad(
                path,
                format!("`{name}`: data size does not match the shape"),
            ));
        }
        let mut file = std::fs::File::open(path).map_err(|e| TrainError::io(path, e))?;
        file.seek(SeekFrom::Start(self.data_start + a as u64))
            .map_err(|e| TrainError::io(path, e))?;
        let mut bytes = vec![0u8; b - a];
        file.read_exact(&mut bytes)
            .map_err(|e| TrainError::io(path, e))?;
        Ok(Some(
            bytes
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ))
    }
}

impl EmbeddingRows {
    /// The `embeddings` tensor of the file whose header is `header`: it must be f32 and
    /// `n × d`.
    pub fn locate(path: &Path, header: &Header) -> Result<Self> {
        let info = header.metadata.info("embeddings").ok_or_else(|| {
            let mut names: Vec<String> = header.metadata.tensors().into_keys().collect();
            names.sort();
            bad(path, format!("no `embeddings` tensor (found {names:?})"))
        })?;
        let [rows, dim] = info.shape[..] else {
            return Err(bad(
                path,
                format!("embeddings have shape {:?}, not n × d", info.shape),
            ));
        };
        if info.dtype != Dtype::F32 {
            return Err(bad(
                path,
                format!("embeddings are {:?}, not F32", info.dtype),
            ));
        }
        if info.data_offsets.1 - info.data_offsets.0 != rows * dim * 4 {
            return Err(bad(
                path,
                "embeddings: data size does not match the shape".into(),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            start: header.data_start + info.data_offsets.0 as u64,
            rows,
            dim,
        })
    }

    /// Rows `r0 .. r0 + count` as a `(count × dim)` f32 tensor on the CPU.
    pub fn read(&self, r0: usize, count: usize) -> Result<Tensor> {
        if r0 + count > self.rows {
            return Err(bad(
                &self.path,
                format!("rows {r0}..{} asked of {}", r0 + count, self.rows),
            ));
        }
        let mut file =
            std::fs::File::open(&self.path).map_err(|e| TrainError::io(&self.path, e))?;
        let row_bytes = (self.dim * 4) as u64;
        file.seek(SeekFrom::Start(self.start + r0 as u64 * row_bytes))
            .map_err(|e| TrainError::io(&self.path, e))?;
        let mut bytes = vec![0u8; count * self.dim * 4];
        file.read_exact(&mut bytes)
            .map_err(|e| TrainError::io(&self.path, e))?;
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(Tensor::from_vec(values, (count, self.dim), &Device::Cpu)?)
    }
}
