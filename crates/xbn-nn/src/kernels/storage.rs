//! Access to the contiguous host memory behind candle tensors and storages.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, Device, Error, Layout, Result, Storage, Tensor};

use super::element::Element;

/// The elements of a contiguous CPU storage viewed through `layout`.
pub(crate) fn layout_slice<'a, T: Element>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
) -> Result<&'a [T]> {
    let (start, end) = layout.contiguous_offsets().ok_or_else(|| {
        Error::Msg(format!(
            "{op}: the kernel reads contiguous tensors, got strides {:?} for shape {:?}",
            layout.stride(),
            layout.dims()
        ))
    })?;
    let all = T::cpu_storage_as_slice(storage).map_err(|_| {
        Error::Msg(format!(
            "{op}: expected {:?} storage, got {:?}",
            T::DTYPE,
            storage.dtype()
        ))
    })?;
    Ok(&all[start..end])
}

/// Runs `f` on the host elements of a contiguous CPU tensor.
pub(crate) fn with_slice<T: Element, R>(
    t: &Tensor,
    op: &str,
    f: impl FnOnce(&[T]) -> R,
) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(cpu) => Ok(f(layout_slice::<T>(cpu, layout, op)?)),
        _ => Err(Error::Msg(format!(
            "{op}: the CPU kernel got a tensor on {:?}",
            t.device().location()
        ))),
    }
}

/// A CPU tensor of `shape` holding `values`.
pub(crate) fn cpu_tensor<T: Element>(values: Vec<T>, shape: &[usize]) -> Result<Tensor> {
    Tensor::from_vec(values, shape, &Device::Cpu)
}

/// The host copy of a small tensor (per-channel parameters) as `f64`.
pub(crate) fn host_f64(t: &Tensor) -> Result<Vec<f64>> {
    t.flatten_all()?
        .to_dtype(candle_core::DType::F64)?
        .to_vec1::<f64>()
}
