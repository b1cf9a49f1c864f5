//! Reductions written with independent accumulator lanes, so the compiler can vectorize them
//! (a single running sum is a serial dependency chain that it must keep in order).

use super::element::Element;

const LANES: usize = 8;

/// `(Σ (v − shift), Σ (v − shift)²)` over `values`, accumulated in `f64`.
pub(crate) fn shifted_sums<T: Element>(values: &[T], shift: f64) -> (f64, f64) {
    let mut s = [0.0f64; LANES];
    let mut ss = [0.0f64; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for l in 0..LANES {
            let d = chunk[l].to_f64() - shift;
            s[l] += d;
            ss[l] += d * d;
        }
    }
    let (mut s_total, mut ss_total) = (s.iter().sum::<f64>(), ss.iter().sum::<f64>());
    for &v in rest {
        let d = v.to_f64() - shift;
        s_total += d;
        ss_total += d * d;
    }
    (s_total, ss_total)
}

/// `(Σ g, Σ g·(x − μ))` with `g = dy`, or `g = dy·[y > 0]` when `relu`, accumulated in `f64`.
pub(crate) fn gradient_sums<T: Element>(
    dy: &[T],
    x: &[T],
    y: &[T],
    mean: f64,
    relu: bool,
) -> (f64, f64) {
    let mut sg = [0.0f64; LANES];
    let mut sgx = [0.0f64; LANES];
    let gate = |yv: T, g: T| -> f64 {
        if relu && yv <= T::ZERO {
            0.0
        } else {
            g.to_f64()
        }
    };
    let (dy_chunks, x_chunks, y_chunks) = (
        dy.chunks_exact(LANES),
        x.chunks_exact(LANES),
        y.chunks_exact(LANES),
    );
    let tail = (
        dy_chunks.remainder(),
        x_chunks.remainder(),
        y_chunks.remainder(),
    );
    for ((d, xv), yv) in dy_chunks.zip(x_chunks).zip(y_chunks) {
        for l in 0..LANES {
            let g = gate(yv[l], d[l]);
            sg[l] += g;
            sgx[l] += g * (xv[l].to_f64() - mean);
        }
    }
    let (mut sg_total, mut sgx_total) = (sg.iter().sum::<f64>(), sgx.iter().sum::<f64>());
    for ((&d, &xv), &yv) in tail.0.iter().zip(tail.1).zip(tail.2) {
        let g = gate(yv, d);
        sg_total += g;
        sgx_total += g * (xv.to_f64() - mean);
    }
    (sg_total, sgx_total)
}
