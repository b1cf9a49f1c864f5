//! Shapes (signed distance functions) and textures the synthetic scenes are drawn from.

use rand::Rng;

/// An RGB colour with channels in `[0, 1]`.
pub type Rgb = [f32; 3];

/// The outline of a part, as a signed distance `d(q)` in its local frame (negative inside,
/// roughly unit size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `|q| − 1`.
    Disk,
    /// Axis-aligned square of half side 0.85.
    Square,
    /// Annulus of radii 0.5 and 1.
    Ring,
    /// Equilateral triangle of half side 0.85.
    Triangle,
    /// Plus sign of arm half-width 0.35.
    Cross,
    /// Square rotated by 45°.
    Diamond,
    /// Rectangle of half extents 1 × 0.3.
    Bar,
    /// Five-pointed star, radius `0.62 + 0.38 cos 5φ`.
    Star,
    /// Upper half disk.
    HalfDisk,
}

/// All shapes, for uniform sampling.
pub const KINDS: [Kind; 9] = [
    Kind::Disk,
    Kind::Square,
    Kind::Ring,
    Kind::Triangle,
    Kind::Cross,
    Kind::Diamond,
    Kind::Bar,
    Kind::Star,
    Kind::HalfDisk,
];

fn sd_box(x: f32, y: f32, hx: f32, hy: f32) -> f32 {
    let dx = x.abs() - hx;
    let dy = y.abs() - hy;
    let outside = (dx.max(0.0).powi(2) + dy.max(0.0).powi(2)).sqrt();
    outside + dx.max(dy).min(0.0)
}

impl Kind {
    /// Signed distance from `(x, y)` (local frame) to the outline; negative inside.
    pub fn sdf(self, x: f32, y: f32) -> f32 {
        match self {
            Kind::Disk => (x * x + y * y).sqrt() - 1.0,
            Kind::Square => sd_box(x, y, 0.85, 0.85),
            Kind::Ring => ((x * x + y * y).sqrt() - 0.75).abs() - 0.25,
            Kind::Triangle => {
                // Equilateral triangle of half side r = 0.85 (apex towards +y): fold by the
                // mirror symmetries, then measure the distance to one edge.
                let (r, k) = (0.85f32, 3f32.sqrt());
                let (mut px, mut py) = (x.abs() - r, y + r / k);
                if px + k * py > 0.0 {
                    (px, py) = ((px - k * py) / 2.0, (-k * px - py) / 2.0);
                }
                px -= px.clamp(-2.0 * r, 0.0);
                -(px * px + py * py).sqrt() * py.signum()
            }
            Kind::Cross => sd_box(x, y, 1.0, 0.35).min(sd_box(x, y, 0.35, 1.0)),
            Kind::Diamond => (x.abs() + y.abs() - 1.0) * std::f32::consts::FRAC_1_SQRT_2,
            Kind::Bar => sd_box(x, y, 1.0, 0.3),
            Kind::Star => {
                let r = (x * x + y * y).sqrt();
                let phi = y.atan2(x);
                (r - (0.62 + 0.38 * (5.0 * phi).cos())) * 0.6
            }
            Kind::HalfDisk => ((x * x + y * y).sqrt() - 1.0).max(-y),
        }
    }
}

/// How a part is filled, in its local frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Texture {
    /// One colour.
    Solid,
    /// Parallel stripes: colour 2 where `sin(f · (q · u)) > 0`, `u = (cos a, sin a)`.
    Stripes { freq: f32, angle: f32 },
    /// Checkerboard: colour 2 where `sin(f x) · sin(f y) > 0`.
    Checker { freq: f32 },
    /// Dots of colour 2 on a lattice of period `2π / f`.
    Dots { freq: f32 },
    /// Linear blend from colour 1 to colour 2 along `u = (cos a, sin a)`.
    Gradient { angle: f32 },
    /// Concentric rings: colour 2 where `sin(f |q|) > 0`.
    Rings { freq: f32 },
}

impl Texture {
    /// A random texture (solid one time in six).
    pub fn sample(rng: &mut impl Rng) -> Texture {
        let freq = rng.random_range(4.0f32..9.0);
        let angle = rng.random_range(0.0f32..std::f32::consts::PI);
        match rng.random_range(0..6) {
            0 => Texture::Solid,
            1 => Texture::Stripes { freq, angle },
            2 => Texture::Checker { freq },
            3 => Texture::Dots { freq },
            4 => Texture::Gradient { angle },
            _ => Texture::Rings { freq },
        }
    }

    /// The fill colour at local point `(x, y)`.
    pub fn colour(self, x: f32, y: f32, c1: Rgb, c2: Rgb) -> Rgb {
        let t = match self {
            Texture::Solid => 0.0,
            Texture::Stripes { freq, angle } => {
                step((freq * (x * angle.cos() + y * angle.sin())).sin())
            }
            Texture::Checker { freq } => step((freq * x).sin() * (freq * y).sin()),
            Texture::Dots { freq } => {
                let period = std::f32::consts::TAU / freq;
                let fx = (x / period).rem_euclid(1.0) - 0.5;
                let fy = (y / period).rem_euclid(1.0) - 0.5;
                if fx * fx + fy * fy < 0.09 { 1.0 } else { 0.0 }
            }
            Texture::Gradient { angle } => {
                (0.5 + 0.5 * (x * angle.cos() + y * angle.sin())).clamp(0.0, 1.0)
            }
            Texture::Rings { freq } => step((freq * (x * x + y * y).sqrt()).sin()),
        };
        mix(c1, c2, t)
    }
}

fn step(v: f32) -> f32 {
    if v > 0.0 { 1.0 } else { 0.0 }
}

/// `(1 − t) a + t b`, channel-wise.
pub fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// A random saturated-ish colour: uniform hue, saturation in `[0.35, 1]`, value in `[0.3, 1]`.
pub fn random_colour(rng: &mut impl Rng) -> Rgb {
    let h = rng.random_range(0.0f32..6.0);
    let s = rng.random_range(0.35f32..1.0);
    let v = rng.random_range(0.3f32..1.0);
    let c = v * s;
    let x = c * (1.0 - ((h % 2.0) - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [r + m, g + m, b + m]
}
