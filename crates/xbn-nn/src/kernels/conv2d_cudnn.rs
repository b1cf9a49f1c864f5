//! 2-D convolution on CUDA devices through cuDNN (feature `cudnn`), forward and backward.
//!
//! With `x` `(N, C, H, W)`, `W` `(O, C, kh, kw)`, stride `s`, zero padding `p` and `x̃` the input
//! padded by `p` (the same equations as [`conv2d`](fn@super::conv2d)):
//!
//! - forward, `cudnnConvolutionForward`:
//!   `y[n,o,i,j] = Σ_{c,a,b} W[o,c,a,b] · x̃[n,c, s·i + a, s·j + b]`;
//! - input gradient, `cudnnConvolutionBackwardData`, the adjoint of the forward in `x`:
//!   `∂L/∂x̃[n,c,u,v] = Σ_{o,i,j,a,b : s·i+a = u, s·j+b = v} W[o,c,a,b] · ∂L/∂y[n,o,i,j]`,
//!   restricted to the unpadded positions;
//! - weight gradient, `cudnnConvolutionBackwardFilter`:
//!   `∂L/∂W[o,c,a,b] = Σ_{n,i,j} ∂L/∂y[n,o,i,j] · x̃[n,c, s·i + a, s·j + b]`.
//!
//! The forward is a [`CustomOp2`] whose backward keeps only `x` and `W` (never unfolded
//! patches) and runs each gradient as a second custom op without a backward of its own
//! (`apply_op2_no_bwd`). Tensors are contiguous NCHW; `f32` and `f64` run with
//! `CUDNN_FMA_MATH` (no TF32, so results stay within `f32` rounding of the CPU kernel), `f16`
//! and `bf16` accumulate in `f32` with tensor cores allowed.
//!
//! Per device and thread there is one cuDNN handle bound to candle's stream of that device, so
//! cuDNN's work is ordered with every other op on it. The algorithm of each pass is cuDNN's
//! heuristic choice for the shapes (`cudnnGetConvolution*Algorithm_v7`), cached per shape; for
//! the backward passes the algorithms that add with atomics (`BWD_DATA_ALGO_0`,
//! `BWD_FILTER_ALGO_0` and `_3`, non-deterministic) are replaced by `ALGO_1`, which is
//! deterministic, so a training step is repeatable. Workspaces are allocated per call on the
//! stream (`cuMemAllocAsync`, from the driver's pool, where the device supports it).
//!
//! [`conv2d`](fn@super::conv2d) takes channels-last tensors and sends CUDA ones here permuted to
//! channels-first. On the CPU these ops run the CPU kernel's channels-last loops
//! (`conv2d_host::forward`, `conv2d_host::backward`) between host permutations, which lets the op
//! wiring be tested without a GPU.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::thread::LocalKey;

use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::cudarc::cudnn::{
    ConvBackwardData, ConvBackwardFilter, ConvDescriptor, ConvForward, Cudnn, CudnnDataType,
    CudnnError, FilterDescriptor, TensorDescriptor, result as cudnn_result, sys,
};
use candle_core::cuda_backend::cudarc::driver::{CudaSlice, CudaView, DeviceRepr};
use candle_core::cuda_backend::{CudaDType, CudaDevice, DeviceId};
use candle_core::{
    CpuStorage, CudaStorage, CustomOp2, DType, Error, Layout, Result, Shape, Tensor, WithDType,
};
use half::{bf16, f16};

use super::conv2d::{Conv2dParams, ConvGeometry};
use super::conv2d_host::{backward, forward};
use super::conv2d_unfold::conv2d_unfold;
use super::element::Element;
use super::layout::{host_channels_first, host_channels_last};
use super::storage::layout_slice;

type FwdAlgo = sys::cudnnConvolutionFwdAlgo_t;
type DataAlgo = sys::cudnnConvolutionBwdDataAlgo_t;
type FilterAlgo = sys::cudnnConvolutionBwdFilterAlgo_t;

/// `conv2d` of CUDA tensors: the cuDNN op for `f32`, `f64`, `f16` and `bf16`;
/// [`conv2d_unfold`] for other dtypes and for empty tensors (cuDNN rejects zero-sized
/// dimensions).
pub(crate) fn conv2d_cudnn(x: &Tensor, w: &Tensor, g: ConvGeometry) -> Result<Tensor> {
    if x.dtype() != w.dtype() {
        return Err(Error::Msg(format!(
            "conv2d: input is {:?} but the kernel is {:?}",
            x.dtype(),
            w.dtype()
        )));
    }
    let supported = matches!(
        x.dtype(),
        DType::F32 | DType::F64 | DType::F16 | DType::BF16
    );
    if !supported || g.n == 0 || g.c_in == 0 || g.c_out == 0 {
        let params = Conv2dParams {
            stride: g.stride,
            padding: g.pad,
        };
        return conv2d_unfold(x, w, params);
    }
    check_cudnn_limits(&g)?;
    let op = CudnnConv2d {
        g,
        pass: Pass::Forward,
        input_grad: x.track_op(),
    };
    x.contiguous()?.apply_op2(&w.contiguous()?, op)
}

/// cuDNN's 4-D descriptors hold sizes and strides as `int`: every tensor must have fewer than
/// 2³¹ elements.
fn check_cudnn_limits(g: &ConvGeometry) -> Result<()> {
    let tensors = [
        ("input", [g.n, g.c_in, g.h, g.w]),
        ("kernel", [g.c_out, g.c_in, g.kh, g.kw]),
        ("output", [g.n, g.c_out, g.ho, g.wo]),
    ];
    for (name, dims) in tensors {
        let len = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if len.is_none_or(|len| len > i32::MAX as usize) {
            return Err(Error::Msg(format!(
                "conv2d on cuDNN: the {name} {dims:?} has 2³¹ elements or more, beyond cuDNN's \
                 32-bit descriptors ({}); split the batch",
                describe(g)
            )));
        }
    }
    Ok(())
}

fn describe(g: &ConvGeometry) -> String {
    format!(
        "input (N, C, H, W) = ({}, {}, {}, {}), kernel (O, C, kh, kw) = ({}, {}, {}, {}), \
         stride {}, padding {}",
        g.n, g.c_in, g.h, g.w, g.c_out, g.c_in, g.kh, g.kw, g.stride, g.pad
    )
}

/// Which product an op computes; the operands are `(x, W)`, `(∂L/∂y, W)` and `(x, ∂L/∂y)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// `y` from `(x, W)`.
    Forward,
    /// `∂L/∂x` from `(∂L/∂y, W)`.
    BackwardData,
    /// `∂L/∂W` from `(x, ∂L/∂y)`.
    BackwardFilter,
}

struct CudnnConv2d {
    g: ConvGeometry,
    pass: Pass,
    /// Whether `x` needs a gradient (forward op only; the images of the first layer do not).
    input_grad: bool,
}

impl CudnnConv2d {
    fn input_dims(&self) -> [usize; 4] {
        [self.g.n, self.g.c_in, self.g.h, self.g.w]
    }

    fn kernel_dims(&self) -> [usize; 4] {
        [self.g.c_out, self.g.c_in, self.g.kh, self.g.kw]
    }

    fn output_dims(&self) -> [usize; 4] {
        [self.g.n, self.g.c_out, self.g.ho, self.g.wo]
    }

    /// The shapes of the two operands and of the result of this pass.
    fn shapes(&self) -> ([usize; 4], [usize; 4], [usize; 4]) {
        let (x, w, y) = (self.input_dims(), self.kernel_dims(), self.output_dims());
        match self.pass {
            Pass::Forward => (x, w, y),
            Pass::BackwardData => (y, w, x),
            Pass::BackwardFilter => (x, y, w),
        }
    }

    /// The operands must have exactly the shapes the descriptors describe: cuDNN reads and
    /// writes raw device memory by them.
    fn check_operands(&self, l1: &Layout, l2: &Layout) -> Result<()> {
        let (a, b, _) = self.shapes();
        if l1.dims() != a || l2.dims() != b {
            return Err(Error::Msg(format!(
                "{}: operands {:?} and {:?}, expected {a:?} and {b:?} ({})",
                self.name(),
                l1.dims(),
                l2.dims(),
                describe(&self.g)
            )));
        }
        Ok(())
    }

    fn op(&self, pass: Pass) -> Self {
        Self {
            g: self.g,
            pass,
            input_grad: false,
        }
    }

    /// The pass on host slices, with the CPU kernel's loops.
    fn cpu<T: Element>(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<CpuStorage> {
        let a = layout_slice::<T>(s1, l1, self.name())?;
        let b = layout_slice::<T>(s2, l2, self.name())?;
        let g = &self.g;
        // Activations are channels-first here and channels-last in the host loops.
        let (input, output) = ((g.c_in, g.h * g.w), (g.c_out, g.positions()));
        let last = |v: &[T], (c, hw): (usize, usize)| host_channels_last(v, g.n, c, hw);
        let first = |v: &[T], (c, hw): (usize, usize)| host_channels_first(v, g.n, c, hw);
        let out = match self.pass {
            Pass::Forward => first(&forward(g, &last(a, input), b), output),
            Pass::BackwardData => {
                // The input gradient does not depend on x: zeros stand in for it.
                let x = vec![T::ZERO; self.input_dims().iter().product()];
                let dx = backward(g, &x, b, &last(a, output), true)
                    .0
                    .ok_or_else(|| Error::Msg(format!("{}: no input gradient", self.name())))?;
                first(&dx, input)
            }
            Pass::BackwardFilter => {
                // The weight gradient does not depend on W: zeros stand in for it.
                let w = vec![T::ZERO; self.kernel_dims().iter().product()];
                backward(g, &last(a, input), &w, &last(b, output), false).1
            }
        };
        Ok(T::to_cpu_storage_owned(out))
    }

    /// The pass on the device with cuDNN.
    fn cuda<T: CudnnElement>(
        &self,
        s1: &CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
    ) -> Result<CudaStorage> {
        let dev = &s1.device;
        if dev.id() != s2.device.id() {
            return Err(Error::Msg(format!(
                "{}: the operands are on different CUDA devices",
                self.name()
            )));
        }
        let a = device_view::<T>(s1, l1, self.name())?;
        let b = device_view::<T>(s2, l2, self.name())?;
        let cudnn = handle(dev)?;
        let d =
            Descriptors::<T>::new(&cudnn, &self.g).map_err(self.failed("creating descriptors"))?;
        let key = AlgoKey {
            device: dev.id(),
            dtype: T::DTYPE,
            geometry: [
                self.g.n,
                self.g.c_in,
                self.g.h,
                self.g.w,
                self.g.c_out,
                self.g.kh,
                self.g.kw,
                self.g.stride,
                self.g.pad,
            ],
        };
        let (one, zero) = (T::from_f64(1.0), T::from_f64(0.0));
        let (_, _, out_dims) = self.shapes();
        // SAFETY (allocation): cuDNN overwrites the whole result (beta = 0 means it is not read).
        let mut out = unsafe { dev.alloc::<T>(out_dims.iter().product()) }?;
        match self.pass {
            Pass::Forward => {
                let op = ConvForward {
                    conv: &d.conv,
                    x: &d.x,
                    w: &d.w,
                    y: &d.y,
                };
                let algo = cached(&FORWARD_ALGOS, key, || {
                    op.pick_algorithm()
                        .map_err(self.failed("choosing the forward algorithm"))
                })?;
                let bytes = op
                    .get_workspace_size(algo)
                    .map_err(self.failed("sizing the forward workspace"))?;
                let mut ws = workspace(dev, bytes, self)?;
                // SAFETY: x, W and y have the shapes and dtype of the descriptors (checked in
                // `cuda_fwd`, allocated above) and are contiguous NCHW.
                unsafe { op.launch(algo, ws.as_mut(), (one, zero), &a, &b, &mut out) }
                    .map_err(self.failed("cudnnConvolutionForward"))?;
            }
            Pass::BackwardData => {
                let op = ConvBackwardData {
                    conv: &d.conv,
                    dx: &d.x,
                    w: &d.w,
                    dy: &d.y,
                };
                let algo = cached(&DATA_ALGOS, key, || {
                    let best = op
                        .pick_algorithm()
                        .map_err(self.failed("choosing the backward-data algorithm"))?;
                    let deterministic = DataAlgo::CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
                    Ok(
                        if best == DataAlgo::CUDNN_CONVOLUTION_BWD_DATA_ALGO_0
                            && op.get_workspace_size(deterministic).is_ok()
                        {
                            deterministic
                        } else {
                            best
                        },
                    )
                })?;
                let bytes = op
                    .get_workspace_size(algo)
                    .map_err(self.failed("sizing the backward-data workspace"))?;
                let mut ws = workspace(dev, bytes, self)?;
                // SAFETY: ∂L/∂y, W and ∂L/∂x have the shapes and dtype of the descriptors.
                unsafe { op.launch(algo, ws.as_mut(), (one, zero), &mut out, &b, &a) }
                    .map_err(self.failed("cudnnConvolutionBackwardData"))?;
            }
            Pass::BackwardFilter => {
                let op = ConvBackwardFilter {
                    conv: &d.conv,
                    x: &d.x,
                    dw: &d.w,
                    dy: &d.y,
                };
                let algo = cached(&FILTER_ALGOS, key, || {
                    let best = op
                        .pick_algorithm()
                        .map_err(self.failed("choosing the backward-filter algorithm"))?;
                    let deterministic = FilterAlgo::CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
                    let atomic = matches!(
                        best,
                        FilterAlgo::CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0
                            | FilterAlgo::CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3
                    );
                    Ok(if atomic && op.get_workspace_size(deterministic).is_ok() {
                        deterministic
                    } else {
                        best
                    })
                })?;
                let bytes = op
                    .get_workspace_size(algo)
                    .map_err(self.failed("sizing the backward-filter workspace"))?;
                let mut ws = workspace(dev, bytes, self)?;
                // SAFETY: x, ∂L/∂y and ∂L/∂W have the shapes and dtype of the descriptors.
                unsafe { op.launch(algo, ws.as_mut(), (one, zero), &a, &mut out, &b) }
                    .map_err(self.failed("cudnnConvolutionBackwardFilter"))?;
            }
        }
        Ok(CudaStorage::wrap_cuda_slice(out, dev.clone()))
    }

    /// Turns a cuDNN status into an error naming the step, the library version and the shapes.
    fn failed(&self, step: &'static str) -> impl FnOnce(CudnnError) -> Error + '_ {
        move |e| {
            Error::Msg(format!(
                "{} (cuDNN {}): {step} failed with {e}; {}, {:?}",
                self.name(),
                cudnn_version(),
                describe(&self.g),
                self.pass
            ))
        }
    }
}

impl CustomOp2 for CudnnConv2d {
    fn name(&self) -> &'static str {
        match self.pass {
            Pass::Forward => "xbn-conv2d-cudnn",
            Pass::BackwardData => "xbn-conv2d-cudnn-backward-data",
            Pass::BackwardFilter => "xbn-conv2d-cudnn-backward-filter",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        self.check_operands(l1, l2)?;
        let out = match s1.dtype() {
            DType::F32 => self.cpu::<f32>(s1, l1, s2, l2)?,
            DType::F64 => self.cpu::<f64>(s1, l1, s2, l2)?,
            other => {
                return Err(Error::Msg(format!(
                    "{}: unsupported dtype {other:?} on the CPU",
                    self.name()
                )));
            }
        };
        Ok((out, Shape::from(self.shapes().2.to_vec())))
    }

    fn cuda_fwd(
        &self,
        s1: &CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        self.check_operands(l1, l2)?;
        if s1.dtype() != s2.dtype() {
            return Err(Error::Msg(format!(
                "{}: operands are {:?} and {:?}",
                self.name(),
                s1.dtype(),
                s2.dtype()
            )));
        }
        let out = match s1.dtype() {
            DType::F32 => self.cuda::<f32>(s1, l1, s2, l2)?,
            DType::F64 => self.cuda::<f64>(s1, l1, s2, l2)?,
            DType::F16 => self.cuda::<f16>(s1, l1, s2, l2)?,
            DType::BF16 => self.cuda::<bf16>(s1, l1, s2, l2)?,
            other => {
                return Err(Error::Msg(format!(
                    "{}: unsupported dtype {other:?}",
                    self.name()
                )));
            }
        };
        Ok((out, Shape::from(self.shapes().2.to_vec())))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        if self.pass != Pass::Forward {
            return Err(Error::BackwardNotSupported { op: self.name() });
        }
        let dy = dy.contiguous()?;
        let dx = if self.input_grad {
            Some(dy.apply_op2_no_bwd(w, &self.op(Pass::BackwardData))?)
        } else {
            None
        };
        let dw = x.apply_op2_no_bwd(&dy, &self.op(Pass::BackwardFilter))?;
        Ok((dx, Some(dw)))
    }
}

/// The element types cuDNN convolves, with the type it accumulates in and its math mode.
trait CudnnElement: CudaDType + CudnnDataType + DeviceRepr + WithDType {
    /// The convolution's compute type.
    type Compute: CudnnDataType;
    /// `CUDNN_FMA_MATH` (no TF32) for `f32`/`f64`, tensor cores for `f16`/`bf16`.
    const MATH: sys::cudnnMathType_t;
}

impl CudnnElement for f32 {
    type Compute = f32;
    const MATH: sys::cudnnMathType_t = sys::cudnnMathType_t::CUDNN_FMA_MATH;
}

impl CudnnElement for f64 {
    type Compute = f64;
    const MATH: sys::cudnnMathType_t = sys::cudnnMathType_t::CUDNN_FMA_MATH;
}

impl CudnnElement for f16 {
    type Compute = f32;
    const MATH: sys::cudnnMathType_t = sys::cudnnMathType_t::CUDNN_TENSOR_OP_MATH;
}

impl CudnnElement for bf16 {
    type Compute = f32;
    const MATH: sys::cudnnMathType_t = sys::cudnnMathType_t::CUDNN_TENSOR_OP_MATH;
}

/// The descriptors of one convolution: `x` `(N, C, H, W)`, `W` `(O, C, kh, kw)`, `y`
/// `(N, O, H', W')`, all NCHW, and the convolution (cross-correlation, as PyTorch's).
struct Descriptors<T: CudnnElement> {
    conv: ConvDescriptor<T::Compute>,
    x: TensorDescriptor<T>,
    w: FilterDescriptor<T>,
    y: TensorDescriptor<T>,
}

impl<T: CudnnElement> Descriptors<T> {
    /// Sizes fit `i32`: `check_cudnn_limits` bounds every tensor's element count.
    fn new(cudnn: &Arc<Cudnn>, g: &ConvGeometry) -> std::result::Result<Self, CudnnError> {
        let i = |v: usize| v as i32;
        let nchw = sys::cudnnTensorFormat_t::CUDNN_TENSOR_NCHW;
        let mut conv = cudnn.create_conv2d::<T::Compute>(
            [i(g.pad), i(g.pad)],
            [i(g.stride), i(g.stride)],
            [1, 1],
            sys::cudnnConvolutionMode_t::CUDNN_CROSS_CORRELATION,
        )?;
        conv.set_math_type(T::MATH)?;
        Ok(Self {
            conv,
            x: cudnn.create_4d_tensor::<T>(nchw, [i(g.n), i(g.c_in), i(g.h), i(g.w)])?,
            w: cudnn.create_4d_filter::<T>(nchw, [i(g.c_out), i(g.c_in), i(g.kh), i(g.kw)])?,
            y: cudnn.create_4d_tensor::<T>(nchw, [i(g.n), i(g.c_out), i(g.ho), i(g.wo)])?,
        })
    }
}

/// The device elements of a contiguous operand.
fn device_view<'a, T: CudnnElement>(
    storage: &'a CudaStorage,
    layout: &Layout,
    op: &str,
) -> Result<CudaView<'a, T>> {
    let (start, end) = layout.contiguous_offsets().ok_or_else(|| {
        Error::Msg(format!(
            "{op}: cuDNN reads contiguous tensors, got strides {:?} for shape {:?}",
            layout.stride(),
            layout.dims()
        ))
    })?;
    let slice = storage.as_cuda_slice::<T>()?;
    slice.try_slice(start..end).ok_or_else(|| {
        Error::Msg(format!(
            "{op}: elements {start}..{end} lie outside the storage of {} elements",
            slice.len()
        ))
    })
}

/// Scratch memory for one cuDNN call, `None` when the algorithm needs none.
fn workspace(dev: &CudaDevice, bytes: usize, op: &CudnnConv2d) -> Result<Option<CudaSlice<u8>>> {
    if bytes == 0 {
        return Ok(None);
    }
    // SAFETY: the workspace is scratch that cuDNN writes before it reads.
    unsafe { dev.alloc::<u8>(bytes) }.map(Some).map_err(|e| {
        Error::Msg(format!(
            "{}: allocating a {bytes}-byte cuDNN workspace failed: {e}; {}",
            op.name(),
            describe(&op.g)
        ))
    })
}

/// The cached algorithm choices are per device, dtype and convolution shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct AlgoKey {
    device: DeviceId,
    dtype: DType,
    /// `[N, C, H, W, O, kh, kw, stride, padding]`.
    geometry: [usize; 9],
}

type AlgoCache<A> = RefCell<HashMap<AlgoKey, A>>;

// cuDNN handles are neither `Send` nor `Sync`: one per device and thread.
thread_local! {
    static HANDLES: RefCell<HashMap<DeviceId, Arc<Cudnn>>> = RefCell::new(HashMap::new());
    static FORWARD_ALGOS: AlgoCache<FwdAlgo> = RefCell::new(HashMap::new());
    static DATA_ALGOS: AlgoCache<DataAlgo> = RefCell::new(HashMap::new());
    static FILTER_ALGOS: AlgoCache<FilterAlgo> = RefCell::new(HashMap::new());
}

/// This thread's cuDNN handle for `dev`, bound to candle's stream of the device.
fn handle(dev: &CudaDevice) -> Result<Arc<Cudnn>> {
    let id = dev.id();
    if let Some(h) = HANDLES.with(|m| m.borrow().get(&id).cloned()) {
        return Ok(h);
    }
    let h = Cudnn::new(dev.cuda_stream()).map_err(|e| {
        Error::Msg(format!(
            "conv2d on cuDNN: creating a cuDNN handle failed with {e} (cuDNN {}); the \
             libcudnn.so.9 libraries (libcudnn_cnn, libcudnn_engines_*) must be on \
             LD_LIBRARY_PATH",
            cudnn_version()
        ))
    })?;
    HANDLES.with(|m| m.borrow_mut().insert(id, h.clone()));
    Ok(h)
}

/// `pick()` once per key and thread.
fn cached<A: Copy>(
    cache: &'static LocalKey<AlgoCache<A>>,
    key: AlgoKey,
    pick: impl FnOnce() -> Result<A>,
) -> Result<A> {
    if let Some(algo) = cache.with(|c| c.borrow().get(&key).copied()) {
        return Ok(algo);
    }
    let algo = pick()?;
    cache.with(|c| c.borrow_mut().insert(key, algo));
    Ok(algo)
}

/// The loaded library's version as `major.minor.patch`.
fn cudnn_version() -> String {
    let v = cudnn_result::get_version();
    format!("{}.{}.{}", v / 10_000, (v % 10_000) / 100, v % 100)
}

#[cfg(test)]
mod tests {
    //! The op wiring (operand order of the three passes, backward graph, shapes) on the CPU,
    //! where the ops run the CPU kernel's loops; the cuDNN calls are tested on a GPU by
    //! `tests/kernels_cuda.rs`.

    use candle_core::{Device, Tensor, Var};

    use super::*;
    use crate::kernels::{conv2d, to_channels_first, to_channels_last};

    fn ramp(shape: &[usize], scale: f64) -> Tensor {
        let len: usize = shape.iter().product();
        let v: Vec<f64> = (0..len)
            .map(|i| ((i * 37 % 101) as f64 / 101.0 - 0.5) * scale)
            .collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        assert_eq!(a.dims(), b.dims());
        a.sub(b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    }

    #[test]
    fn the_cudnn_op_graph_matches_the_cpu_kernel_on_the_cpu() {
        for (shape, k, stride, padding) in [
            ([2, 3, 9, 7], 3, 1, 1),
            ([1, 2, 8, 11], 1, 2, 0),
            ([3, 2, 10, 9], 7, 2, 3),
        ] {
            let params = Conv2dParams { stride, padding };
            let x = Var::from_tensor(&ramp(&shape, 2.0)).unwrap();
            let w = Var::from_tensor(&ramp(&[4, shape[1], k, k], 1.0)).unwrap();
            let g = ConvGeometry::new(x.dims(), w.dims(), params).unwrap();
            let x_last = to_channels_last(x.as_tensor()).unwrap();
            let y_ref =
                to_channels_first(&conv2d(&x_last, w.as_tensor(), params).unwrap()).unwrap();
            let y = conv2d_cudnn(x.as_tensor(), w.as_tensor(), g).unwrap();
            assert!(max_diff(&y, &y_ref) < 1e-12, "forward, {}", describe(&g));
            let dy = ramp(y.dims(), 3.0);
            let loss = |y: &Tensor| y.mul(&dy).unwrap().sum_all().unwrap();
            let want = loss(&y_ref).backward().unwrap();
            let got = loss(&y).backward().unwrap();
            for (name, v) in [("dx", &x), ("dW", &w)] {
                let (a, b) = (got.get(v).unwrap(), want.get(v).unwrap());
                assert!(max_diff(a, b) < 1e-12, "{name}, {}", describe(&g));
            }
        }
    }

    #[test]
    fn no_input_gradient_for_a_plain_input() {
        let params = Conv2dParams {
            stride: 1,
            padding: 1,
        };
        let x = ramp(&[1, 2, 5, 6], 1.0);
        let w = Var::from_tensor(&ramp(&[3, 2, 3, 3], 1.0)).unwrap();
        let g = ConvGeometry::new(x.dims(), w.dims(), params).unwrap();
        let grads = conv2d_cudnn(&x, w.as_tensor(), g)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert!(grads.get(&x).is_none());
        assert_eq!(grads.get(&w).unwrap().dims(), &[3, 2, 3, 3]);
    }
}
