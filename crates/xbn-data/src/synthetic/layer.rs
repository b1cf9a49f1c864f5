//! One shape placed in the image: the affine map from image to shape coordinates and its fill.

use super::shape::{Kind, Rgb, Texture, mix};

/// A textured shape placed in image coordinates `p ∈ [−1, 1]²`.
///
/// The local point of `p` is `q = diag(1/(s·a_x), 1/(s·a_y)) · R(−φ) · (p − c)`; the shape covers
/// `p` with anti-aliased coverage `α = clamp(½ − d(q) · s · min(a) / h, 0, 1)` where `d` is the
/// shape's signed distance and `h` the pixel side in image units.
#[derive(Debug, Clone, Copy)]
pub struct Layer {
    /// Outline.
    pub kind: Kind,
    /// Fill pattern.
    pub texture: Texture,
    /// First fill colour.
    pub c1: Rgb,
    /// Second fill colour.
    pub c2: Rgb,
    /// Centre `c` in image coordinates.
    pub centre: [f32; 2],
    /// Rotation `φ` in radians.
    pub rotation: f32,
    /// Size `s` (image units per local unit).
    pub size: f32,
    /// Aspect `(a_x, a_y)`.
    pub aspect: [f32; 2],
}

/// A [`Layer`] with its map precomputed for rasterization.
#[derive(Debug, Clone, Copy)]
pub struct PreparedLayer {
    layer: Layer,
    cos: f32,
    sin: f32,
    inv: [f32; 2],
    dist_scale: f32,
    reach2: f32,
}

impl Layer {
    /// Precomputes the rotation, inverse scales and bounding circle for pixel side `h`.
    pub fn prepare(self, h: f32) -> PreparedLayer {
        let sx = self.size * self.aspect[0];
        let sy = self.size * self.aspect[1];
        let reach = 1.3 * sx.max(sy) + h;
        PreparedLayer {
            layer: self,
            cos: self.rotation.cos(),
            sin: self.rotation.sin(),
            inv: [1.0 / sx, 1.0 / sy],
            dist_scale: sx.min(sy) / h,
            reach2: reach * reach,
        }
    }
}

impl PreparedLayer {
    /// Blends this layer over `dst` at image point `(x, y)`.
    #[inline]
    pub fn blend(&self, x: f32, y: f32, dst: &mut Rgb) {
        let (dx, dy) = (x - self.layer.centre[0], y - self.layer.centre[1]);
        if dx * dx + dy * dy > self.reach2 {
            return;
        }
        let qx = (self.cos * dx + self.sin * dy) * self.inv[0];
        let qy = (-self.sin * dx + self.cos * dy) * self.inv[1];
        let alpha = (0.5 - self.layer.kind.sdf(qx, qy) * self.dist_scale).clamp(0.0, 1.0);
        if alpha > 0.0 {
            let fill = self
                .layer
                .texture
                .colour(qx, qy, self.layer.c1, self.layer.c2);
            *dst = mix(*dst, fill, alpha);
        }
    }
}
