//! Bad input to the kernels gives an error that names the shapes or values at fault.

use candle_core::{DType, Device, Tensor};
use xbn_nn::kernels::{
    BatchNormStatistics, Conv2dParams, batch_norm2d, batch_norm2d_add_relu, conv2d, max_pool2d,
};

fn zeros(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape, DType::F32, &Device::Cpu).unwrap()
}

fn message<T: std::fmt::Debug>(r: candle_core::Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}

#[test]
fn conv2d_refuses_inconsistent_shapes_and_dtypes() {
    let p = Conv2dParams {
        stride: 1,
        padding: 1,
    };
    let m = message(conv2d(&zeros(&[2, 8, 8, 3]), &zeros(&[4, 5, 3, 3]), p));
    assert!(
        m.contains("[2, 8, 8, 3]") && m.contains("[4, 5, 3, 3]") && m.contains("channels"),
        "{m}"
    );
    let m = message(conv2d(&zeros(&[2, 3, 8]), &zeros(&[4, 3, 3, 3]), p));
    assert!(m.contains("(N, H, W, C)"), "{m}");
    let m = message(conv2d(
        &zeros(&[1, 8, 8, 3]),
        &zeros(&[4, 3, 3, 3]),
        Conv2dParams {
            stride: 0,
            padding: 1,
        },
    ));
    assert!(m.contains("stride 0"), "{m}");
    let m = message(conv2d(
        &zeros(&[1, 2, 2, 3]),
        &zeros(&[4, 3, 7, 7]),
        Conv2dParams {
            stride: 1,
            padding: 1,
        },
    ));
    assert!(m.contains("smaller than the kernel"), "{m}");
    let w64 = zeros(&[4, 3, 3, 3]).to_dtype(DType::F64).unwrap();
    let m = message(conv2d(&zeros(&[1, 8, 8, 3]), &w64, p));
    assert!(m.contains("F32") && m.contains("F64"), "{m}");
}

#[test]
fn batch_norm2d_refuses_bad_parameters_and_inputs() {
    let (g, b) = (zeros(&[3]), zeros(&[3]));
    let m = message(batch_norm2d(
        &zeros(&[2, 4, 4, 3]),
        &zeros(&[4]),
        &b,
        BatchNormStatistics::Batch,
        1e-5,
        false,
    ));
    assert!(
        m.contains("γ") && m.contains("[4]") && m.contains("[2, 4, 4, 3]"),
        "{m}"
    );
    let m = message(batch_norm2d(
        &zeros(&[2, 3, 4]),
        &g,
        &b,
        BatchNormStatistics::Batch,
        1e-5,
        false,
    ));
    assert!(m.contains("(N, H, W, C)") && m.contains("[2, 3, 4]"), "{m}");
    let m = message(batch_norm2d(
        &zeros(&[1, 1, 1, 3]),
        &g,
        &b,
        BatchNormStatistics::Batch,
        1e-5,
        true,
    ));
    assert!(m.contains("more than one value per channel"), "{m}");
    // Fixed moments need no batch statistics: one value per channel is fine there.
    let (mean, var) = (
        zeros(&[3]),
        Tensor::ones(3, DType::F32, &Device::Cpu).unwrap(),
    );
    let fixed = BatchNormStatistics::Fixed {
        mean: &mean,
        var: &var,
    };
    assert!(batch_norm2d(&zeros(&[1, 1, 1, 3]), &g, &b, fixed, 1e-5, true).is_ok());
    let m = message(batch_norm2d_add_relu(
        &zeros(&[2, 4, 4, 3]),
        &g,
        &b,
        &zeros(&[2, 4, 5, 3]),
        BatchNormStatistics::Batch,
        1e-5,
    ));
    assert!(m.contains("shortcut") && m.contains("[2, 4, 5, 3]"), "{m}");
}

#[test]
fn max_pool2d_refuses_bad_windows() {
    let x = zeros(&[1, 6, 6, 2]);
    let m = message(max_pool2d(&x, 3, 2, 2));
    assert!(m.contains("padding 2"), "{m}");
    let m = message(max_pool2d(&x, 0, 1, 0));
    assert!(m.contains("kernel 0"), "{m}");
    let m = message(max_pool2d(&zeros(&[1, 2, 2, 2]), 5, 1, 1));
    assert!(m.contains("smaller than the kernel"), "{m}");
    let m = message(max_pool2d(&zeros(&[2, 6, 6]), 3, 2, 1));
    assert!(m.contains("(N, H, W, C)"), "{m}");
}
