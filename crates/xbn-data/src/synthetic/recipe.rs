//! What makes a class (its recipe) and what makes one picture of it (a view).

use std::f32::consts::PI;

use rand::Rng;

use super::layer::Layer;
use super::shape::{KINDS, Rgb, Texture, mix, random_colour};

/// One part of a product, in the object frame (object radius ≈ 1).
#[derive(Debug, Clone, Copy)]
pub struct Part {
    /// The part's shape and fill, placed in the object frame.
    pub layer: Layer,
}

/// A class: a random composition of 2–4 textured, coloured parts — a large body and smaller
/// attachments around it.
#[derive(Debug, Clone)]
pub struct ClassRecipe {
    /// Parts, drawn in order (body first).
    pub parts: Vec<Part>,
}

impl ClassRecipe {
    /// Samples a recipe.
    pub fn sample(rng: &mut impl Rng) -> ClassRecipe {
        let n = rng.random_range(2..=4);
        let parts = (0..n)
            .map(|i| {
                let (centre, size) = if i == 0 {
                    (
                        [rng.random_range(-0.1..0.1), rng.random_range(-0.1..0.1)],
                        0.55,
                    )
                } else {
                    let (a, r) = (
                        rng.random_range(0.0..2.0 * PI),
                        rng.random_range(0.35..0.75),
                    );
                    ([r * a.cos(), r * a.sin()], rng.random_range(0.22..0.42))
                };
                let layer = Layer {
                    kind: KINDS[rng.random_range(0..KINDS.len())],
                    texture: Texture::sample(rng),
                    c1: random_colour(rng),
                    c2: random_colour(rng),
                    centre,
                    rotation: rng.random_range(0.0..2.0 * PI),
                    size: size * rng.random_range(0.85..1.2),
                    aspect: [rng.random_range(0.75..1.25), rng.random_range(0.75..1.25)],
                };
                Part { layer }
            })
            .collect();
        ClassRecipe { parts }
    }
}

/// Background of a view: a low-contrast two-colour pattern over the whole image.
#[derive(Debug, Clone, Copy)]
pub struct Background {
    /// Pattern in image coordinates.
    pub texture: Texture,
    /// First colour.
    pub c1: Rgb,
    /// Second colour.
    pub c2: Rgb,
}

/// Global illumination: `out = clamp(gain · cast_c · (1 + slope · (p · u)) · colour + σ ε)`.
#[derive(Debug, Clone, Copy)]
pub struct Lighting {
    /// Overall gain.
    pub gain: f32,
    /// Per-channel colour cast.
    pub cast: Rgb,
    /// Strength of the directional gradient.
    pub slope: f32,
    /// Direction `u` of the gradient.
    pub direction: [f32; 2],
    /// Amplitude of uniform pixel noise `ε ∈ [−1, 1]`.
    pub noise: f32,
}

/// One picture: background, layers back to front (clutter, the object's parts, the occluder)
/// and lighting.
#[derive(Debug, Clone)]
pub struct View {
    /// Background pattern.
    pub background: Background,
    /// Layers in image coordinates, back to front.
    pub layers: Vec<Layer>,
    /// Illumination and noise.
    pub lighting: Lighting,
}

impl View {
    /// Samples a view of `recipe` at difficulty `d ∈ [0, 1]`: rotation `θ ~ U(−dπ, dπ)`,
    /// scale `S ~ 0.85 · U(1 − 0.35d, 1 + 0.15d)`, translation `t ~ U(−0.3d, 0.3d)²`, part jitter
    /// `U(−0.1d, 0.1d)²`, `⌊U(0, 4d + 1)⌋` clutter shapes, an occluder with probability `d/2`,
    /// gain `U(1 − 0.45d, 1 + 0.25d)`, cast `1 + U(−0.15d, 0.15d)`, slope `U(0, 0.5d)`, noise `0.06d`.
    pub fn sample(recipe: &ClassRecipe, d: f32, rng: &mut impl Rng) -> View {
        let mut layers = Vec::with_capacity(recipe.parts.len() + 8);
        let (c1, c2) = (random_colour(rng), random_colour(rng));
        let background = Background {
            texture: if rng.random_bool(0.5) {
                Texture::sample(rng)
            } else {
                Texture::Solid
            },
            c1,
            c2: mix(c1, c2, 0.4),
        };
        let clutter = (rng.random_range(0.0..4.0 * d + 1.0)) as usize;
        for _ in 0..clutter {
            layers.push(Layer {
                kind: KINDS[rng.random_range(0..KINDS.len())],
                texture: Texture::sample(rng),
                c1: random_colour(rng),
                c2: random_colour(rng),
                centre: [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)],
                rotation: rng.random_range(0.0..2.0 * PI),
                size: rng.random_range(0.06..0.22),
                aspect: [rng.random_range(0.6..1.4), rng.random_range(0.6..1.4)],
            });
        }
        let theta = sym(rng, d * PI);
        let scale = 0.85 * rng.random_range((1.0 - 0.35 * d)..=(1.0 + 0.15 * d));
        let t = [sym(rng, 0.3 * d), sym(rng, 0.3 * d)];
        let (c, s) = (theta.cos(), theta.sin());
        for part in &recipe.parts {
            let p = part.layer;
            let o = [
                p.centre[0] + sym(rng, 0.1 * d),
                p.centre[1] + sym(rng, 0.1 * d),
            ];
            layers.push(Layer {
                centre: [
                    t[0] + scale * (c * o[0] - s * o[1]),
                    t[1] + scale * (s * o[0] + c * o[1]),
                ],
                rotation: p.rotation + theta,
                size: p.size * scale,
                ..p
            });
        }
        if rng.random_bool((d / 2.0) as f64) {
            let a = rng.random_range(0.0..2.0 * PI);
            let r = rng.random_range(0.2..0.5) * scale;
            layers.push(Layer {
                kind: if rng.random_bool(0.5) {
                    KINDS[1]
                } else {
                    KINDS[0]
                },
                texture: Texture::Solid,
                c1: random_colour(rng),
                c2: [0.0; 3],
                centre: [t[0] + r * a.cos(), t[1] + r * a.sin()],
                rotation: rng.random_range(0.0..2.0 * PI),
                size: rng.random_range(0.15..0.3),
                aspect: [rng.random_range(0.7..1.3), rng.random_range(0.7..1.3)],
            });
        }
        let dir = rng.random_range(0.0..2.0 * PI);
        let lighting = Lighting {
            gain: rng.random_range((1.0 - 0.45 * d)..=(1.0 + 0.25 * d)),
            cast: [
                1.0 + sym(rng, 0.15 * d),
                1.0 + sym(rng, 0.15 * d),
                1.0 + sym(rng, 0.15 * d),
            ],
            slope: rng.random_range(0.0..=0.5 * d),
            direction: [dir.cos(), dir.sin()],
            noise: 0.06 * d,
        };
        View {
            background,
            layers,
            lighting,
        }
    }
}

/// `U(−a, a)`, or 0 when `a = 0`.
fn sym<R: Rng + ?Sized>(rng: &mut R, a: f32) -> f32 {
    if a > 0.0 {
        rng.random_range(-a..a)
    } else {
        0.0
    }
}
