//! The floating-point element types the CPU kernels are generic over.

use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub};

use candle_core::CpuStorage;

/// `f32` or `f64`: arithmetic on top of candle's `WithDType` (which already converts to and from
/// `f64` and to and from CPU storage: `cpu_storage_as_slice`, `to_cpu_storage_owned`).
pub trait Element:
    candle_core::WithDType
    + Copy
    + Send
    + Sync
    + 'static
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
{
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// Negative infinity (max-pool padding).
    const NEG_INFINITY: Self;
    /// Whether the value is NaN.
    fn is_nan(self) -> bool;
    /// The square root.
    fn sqrt(self) -> Self;
    /// The storage's elements, mutably, when it holds this type.
    fn slice_mut(storage: &mut CpuStorage) -> Option<&mut [Self]>;
}

macro_rules! impl_element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NEG_INFINITY: Self = <$t>::NEG_INFINITY;
            #[inline]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn slice_mut(storage: &mut CpuStorage) -> Option<&mut [Self]> {
                match storage {
                    CpuStorage::$variant(v) => Some(v.as_mut_slice()),
                    _ => None,
                }
            }
        }
    };
}

impl_element!(f32, F32);
impl_element!(f64, F64);

/// Evaluates `$body`, a `Result`, with the type alias `$t` bound to the [`Element`] type of
/// `$dtype` (`f32` or `f64`): the one dtype dispatch of the CPU kernels. Any other dtype is an
/// error naming `$op`.
macro_rules! with_element {
    ($dtype:expr, $op:expr, $t:ident => $body:expr) => {
        match $dtype {
            candle_core::DType::F32 => {
                type $t = f32;
                $body
            }
            candle_core::DType::F64 => {
                type $t = f64;
                $body
            }
            other => Err(candle_core::Error::Msg(format!(
                "{}: unsupported dtype {:?}",
                $op, other
            ))),
        }
    };
}
pub(crate) use with_element;
