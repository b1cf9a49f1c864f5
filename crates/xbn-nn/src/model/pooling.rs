//! Global pooling of the last feature map into the feature vector `g` the head projects.

use candle_core::Tensor;

use super::error::Result;

/// How the last channels-last feature map `(N, H, W, C)` becomes `g` `(N × C)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooling {
    /// Average, `g[n,c] = (1/HW) Σ_{h,w} x[n,h,w,c]` (torchvision's classifier head).
    #[default]
    Avg,
    /// Maximum, `g[n,c] = max_{h,w} x[n,h,w,c]`: the XBM reference's backbone
    /// (`F.adaptive_max_pool2d` in research-xbm's `resnet.py`).
    Max,
    /// Sum of both, `g = avg + max` (Proxy-Anchor's and many later DML codebases').
    AvgMax,
}

impl Pooling {
    /// Pools `x` `(N, H, W, C)` to `(N, C)`.
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        let (n, h, w, c) = x.dims4()?;
        let flat = x.reshape((n, h * w, c))?;
        Ok(match self {
            Pooling::Avg => flat.mean(1)?,
            Pooling::Max => flat.max(1)?,
            Pooling::AvgMax => (flat.mean(1)? + flat.max(1)?)?,
        })
    }
}

/// Global average pooling of a channels-last `(N, H, W, C)` tensor to `(N, C)`:
/// `g[n,c] = (1/HW) Σ_{h,w} x[n,h,w,c]` ([`Pooling::Avg`]).
pub fn global_avg_pool(x: &Tensor) -> Result<Tensor> {
    Pooling::Avg.apply(x)
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::Pooling;

    #[test]
    fn each_pooling_reduces_the_spatial_positions_of_every_channel() {
        // One image, 2 × 2 positions, 2 channels: channel 0 holds 1, 2, 3, 6; channel 1 holds
        // −1, −2, −3, −6.
        let x = Tensor::new(
            &[[[[1f32, -1.], [2., -2.]], [[3., -3.], [6., -6.]]]],
            &Device::Cpu,
        )
        .unwrap();
        let avg = Pooling::Avg.apply(&x).unwrap().to_vec2::<f32>().unwrap();
        let max = Pooling::Max.apply(&x).unwrap().to_vec2::<f32>().unwrap();
        let both = Pooling::AvgMax.apply(&x).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(avg, vec![vec![3.0, -3.0]]);
        assert_eq!(max, vec![vec![6.0, -1.0]]);
        assert_eq!(both, vec![vec![9.0, -4.0]]);
    }

    #[test]
    fn the_gradient_of_max_pooling_reaches_only_the_maximum() {
        let x = candle_core::Var::new(&[[[[1f32], [5.]], [[2.], [3.]]]], &Device::Cpu).unwrap();
        let g = Pooling::Max
            .apply(x.as_tensor())
            .unwrap()
            .sum_all()
            .unwrap();
        let grads = g.backward().unwrap();
        let dx = grads.get(x.as_tensor()).unwrap().flatten_all().unwrap();
        assert_eq!(dx.to_vec1::<f32>().unwrap(), vec![0.0, 1.0, 0.0, 0.0]);
    }
}
