//! The image pipeline: normalization values, shapes, flips, crops, jitter, batching.

use image::{Rgb, RgbImage};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use xbn_data::pipeline::{
    ColorJitter, EvalTransform, Normalization, Scratch, TrainTransform, Transform, batch_tensor,
    centre_crop, random_resized_crop,
};

fn run(t: &dyn Transform, image: &RgbImage, seed: u64) -> Vec<f32> {
    let (h, w) = t.output_size();
    let mut out = vec![f32::NAN; 3 * h * w];
    t.apply(
        image,
        &mut ChaCha8Rng::seed_from_u64(seed),
        &mut Scratch::new(),
        &mut out,
    )
    .unwrap();
    out
}

fn assert_close(got: f32, want: f32, what: &str) {
    assert!((got - want).abs() < 1e-5, "{what}: got {got}, want {want}");
}

#[test]
fn solid_colour_normalizes_to_hand_computed_values() {
    // (v/255 − mean)/std by hand: (10/255 − 0.485)/0.229, (128/255 − 0.456)/0.224,
    // (250/255 − 0.406)/0.225.
    let want = [-1.946_656_4_f32, 0.205_182_07, 2.552_854];
    let image = RgbImage::from_pixel(123, 77, Rgb([10, 128, 250]));
    for t in [
        &TrainTransform::new(32) as &dyn Transform,
        &EvalTransform::new(40, 32),
    ] {
        let out = run(t, &image, 1);
        assert_eq!(out.len(), 3 * 32 * 32);
        for (c, plane) in out.chunks(32 * 32).enumerate() {
            for &v in plane {
                assert_close(v, want[c], &format!("{t:?} channel {c}"));
            }
        }
    }
}

#[test]
fn half_normalization_maps_to_minus_one_one() {
    let t = EvalTransform {
        normalization: Normalization::HALF,
        ..EvalTransform::new(8, 8)
    };
    let out = run(&t, &RgbImage::from_pixel(8, 8, Rgb([0, 255, 0])), 0);
    assert!(out[..64].iter().all(|&v| v == -1.0) && out[64..128].iter().all(|&v| v == 1.0));
}

/// Left half black, right half white.
fn halves(side: u32) -> RgbImage {
    RgbImage::from_fn(side, side, |x, _| {
        if x < side / 2 {
            Rgb([0, 0, 0])
        } else {
            Rgb([255; 3])
        }
    })
}

#[test]
fn flip_mirrors_columns() {
    let full = |p| TrainTransform {
        scale: (1.0, 1.0),
        ratio: (1.0, 1.0),
        flip_probability: p,
        normalization: Normalization::HALF,
        ..TrainTransform::new(16)
    };
    let plain = run(&full(0.0), &halves(64), 3);
    let flipped = run(&full(1.0), &halves(64), 3);
    for c in 0..3 {
        for y in 0..16 {
            let row = |v: &[f32], x: usize| v[c * 256 + y * 16 + x];
            assert_eq!(row(&plain, 0), -1.0);
            assert_eq!(row(&plain, 15), 1.0);
            for x in 0..16 {
                assert_eq!(row(&plain, x), row(&flipped, 15 - x));
            }
        }
    }
}

#[test]
fn eval_centre_crop_keeps_the_middle() {
    // 200 × 100: red | green (columns 50..150) | blue. Resize(64) + CenterCrop(64) keeps the
    // centre 100 × 100 square, which is green (up to the filter's reach at its edges).
    let image = RgbImage::from_fn(200, 100, |x, _| match x {
        0..50 => Rgb([255, 0, 0]),
        50..150 => Rgb([0, 255, 0]),
        _ => Rgb([0, 0, 255]),
    });
    let t = EvalTransform {
        normalization: Normalization::HALF,
        ..EvalTransform::new(64, 64)
    };
    let out = run(&t, &image, 0);
    for y in 0..64 {
        for x in 2..62 {
            let px = [
                out[y * 64 + x],
                out[4096 + y * 64 + x],
                out[8192 + y * 64 + x],
            ];
            assert_eq!(px, [-1.0, 1.0, -1.0], "pixel ({x}, {y})");
        }
    }
    let r = centre_crop(200, 100, 64, 64);
    assert_eq!(
        (r.left, r.top, r.width, r.height),
        (50.0, 0.0, 100.0, 100.0)
    );
    // Resize(256) + CenterCrop(224) on 500 × 400: f = 256/400, side 224/f = 350.
    let r = centre_crop(500, 400, 256, 224);
    assert_eq!(
        (r.left, r.top, r.width, r.height),
        (75.0, 25.0, 350.0, 350.0)
    );
}

#[test]
fn train_transform_is_a_function_of_the_rng() {
    let image = RgbImage::from_fn(90, 70, |x, y| {
        Rgb([(x * 2) as u8, (y * 3) as u8, (x + y) as u8])
    });
    let t = TrainTransform {
        jitter: Some(ColorJitter {
            brightness: 0.4,
            contrast: 0.4,
            saturation: 0.4,
        }),
        ..TrainTransform::new(24)
    };
    assert_eq!(run(&t, &image, 9), run(&t, &image, 9));
    assert_ne!(run(&t, &image, 9), run(&t, &image, 10));
}

#[test]
fn jitter_without_strength_is_identity_and_brightness_scales() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let original: Vec<u8> = (0..300).map(|i| (i % 200) as u8).collect();
    let mut p = original.clone();
    ColorJitter {
        brightness: 0.0,
        contrast: 0.0,
        saturation: 0.0,
    }
    .apply(&mut p, &mut rng);
    assert_eq!(p, original);
    let mut p = original.clone();
    ColorJitter {
        brightness: 0.5,
        contrast: 0.0,
        saturation: 0.0,
    }
    .apply(&mut p, &mut rng);
    // One factor f for every value: v' ≈ f v (rounded, clamped at 255).
    let f = p[199] as f32 / original[199] as f32;
    assert_ne!(p, original);
    for (&a, &b) in original.iter().zip(&p) {
        assert!(
            (b as f32 - (f * a as f32).min(255.0)).abs() <= 1.5,
            "{a} -> {b} with f = {f}"
        );
    }
}

#[test]
fn batch_tensor_is_nchw() {
    let data: Vec<f32> = (0..2 * 3 * 4 * 5).map(|v| v as f32).collect();
    let t = batch_tensor(data, 2, 4, 5, &xbn_core::test_util::test_device()).unwrap();
    assert_eq!(t.dims(), &[2, 3, 4, 5]);
    // Element (n=1, c=2, y=3, x=4) is the last one: 119.
    let v: f32 = t
        .to_device(&candle_core::Device::Cpu)
        .unwrap()
        .get(1)
        .unwrap()
        .get(2)
        .unwrap()
        .get(3)
        .unwrap()
        .get(4)
        .unwrap()
        .to_scalar()
        .unwrap();
    assert_eq!(v, 119.0);
}

proptest! {
    #[test]
    fn random_resized_crop_stays_inside_and_obeys_scale_and_ratio(
        w in 1u32..600, h in 1u32..600, seed in any::<u64>()
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let r = random_resized_crop(w, h, (0.08, 1.0), (0.75, 4.0 / 3.0), &mut rng);
        prop_assert!(r.left >= 0.0 && r.top >= 0.0 && r.width >= 1.0 && r.height >= 1.0);
        prop_assert!(r.left + r.width <= w as f64 && r.top + r.height <= h as f64);
        prop_assert_eq!(r.left.fract(), 0.0);
        let frac = r.width * r.height / (w as f64 * h as f64);
        let aspect = r.width / r.height;
        // Either an accepted sample (area and aspect within range up to rounding to whole
        // pixels) or the whole-image fallback.
        let rounding = (1.0 + 1.0 / r.width.min(r.height)).powi(2);
        let sampled = frac <= rounding && frac >= 0.08 / rounding
            && aspect >= 0.75 / rounding && aspect <= 4.0 / 3.0 * rounding;
        let fallback = r.width == w as f64 || r.height == h as f64;
        prop_assert!(sampled || fallback, "{:?} of {}x{}", r, w, h);
    }
}

/// PIL 13.0 reference: `Image.fromarray(a).resize((12, 12), Image.BILINEAR, box=(5, 0, 35, 30))`
/// of the 40 × 30 image `a[y, x] = (7x mod 256, 5y mod 256, xy mod 251)`, row-major RGB bytes.
#[rustfmt::skip]
const PIL_BILINEAR_12: [u8; 432] = [
    40, 5, 6, 58, 5, 8, 75, 5, 11, 93, 5, 13, 110, 5, 16, 128, 5, 18, 145, 5, 21, 163, 5, 23,
    180, 5, 26, 198, 5, 28, 215, 5, 31, 233, 5, 33, 40, 16, 19, 58, 16, 27, 75, 16, 35, 93, 16,
    43, 110, 16, 51, 128, 16, 59, 145, 16, 67, 163, 16, 75, 180, 16, 83, 198, 16, 91, 215, 16,
    100, 233, 16, 108, 40, 29, 33, 58, 29, 47, 75, 29, 62, 93, 29, 76, 110, 29, 91, 128, 29,
    105, 145, 29, 120, 163, 29, 134, 180, 29, 149, 198, 29, 163, 215, 29, 175, 233, 29, 182, 40,
    41, 47, 58, 41, 68, 75, 41, 89, 93, 41, 109, 110, 41, 130, 128, 41, 150, 145, 41, 171, 163,
    41, 191, 180, 41, 191, 198, 41, 149, 215, 41, 131, 233, 41, 87, 40, 54, 62, 58, 54, 89, 75,
    54, 116, 93, 54, 142, 110, 54, 170, 128, 54, 195, 145, 54, 181, 163, 54, 121, 180, 54, 83,
    198, 54, 60, 215, 54, 80, 233, 54, 107, 40, 66, 76, 58, 66, 109, 75, 66, 143, 93, 66, 175,
    110, 66, 199, 128, 66, 149, 145, 66, 65, 163, 66, 59, 180, 66, 90, 198, 66, 123, 215, 66,
    156, 233, 66, 177, 40, 79, 91, 58, 79, 130, 75, 79, 169, 93, 79, 199, 110, 79, 122, 128, 79,
    47, 145, 79, 76, 163, 79, 115, 180, 79, 154, 198, 79, 181, 215, 79, 158, 233, 79, 98, 40,
    91, 105, 58, 91, 150, 75, 91, 195, 93, 91, 148, 110, 91, 46, 128, 91, 82, 145, 91, 128, 163,
    91, 173, 180, 91, 180, 198, 91, 92, 215, 91, 73, 233, 91, 105, 40, 104, 120, 58, 104, 171,
    75, 104, 181, 93, 104, 64, 110, 104, 76, 128, 104, 128, 145, 104, 176, 163, 104, 148, 180,
    104, 84, 198, 104, 86, 215, 104, 136, 233, 104, 174, 40, 116, 134, 58, 116, 192, 75, 116,
    121, 93, 116, 59, 110, 116, 115, 128, 116, 173, 145, 116, 148, 163, 116, 60, 180, 116, 96,
    198, 116, 154, 215, 116, 174, 233, 116, 98, 40, 129, 149, 58, 129, 191, 75, 129, 83, 93,
    129, 90, 110, 129, 155, 128, 129, 180, 145, 129, 84, 163, 129, 97, 180, 129, 157, 198, 129,
    142, 215, 129, 90, 233, 129, 104, 40, 140, 161, 58, 140, 149, 75, 140, 58, 93, 140, 120,
    110, 140, 183, 128, 140, 97, 145, 140, 81, 163, 140, 149, 180, 140, 144, 198, 140, 63, 215,
    140, 108, 233, 140, 168,
];

#[test]
fn eval_resize_matches_pil_bilinear() {
    // Resize(12) + CenterCrop(12) of 40 × 30 is the source box (5, 0)..(35, 30) resized to 12 × 12.
    let image = RgbImage::from_fn(40, 30, |x, y| {
        Rgb([
            (x * 7 % 256) as u8,
            (y * 5 % 256) as u8,
            (x * y % 251) as u8,
        ])
    });
    let t = EvalTransform {
        normalization: Normalization::HALF,
        ..EvalTransform::new(12, 12)
    };
    let out = run(&t, &image, 0);
    for (i, &want) in PIL_BILINEAR_12.iter().enumerate() {
        let (pixel, c) = (i / 3, i % 3);
        let got = ((out[c * 144 + pixel] * 0.5 + 0.5) * 255.0).round();
        assert!(
            (got - want as f32).abs() <= 1.0,
            "pixel {pixel} channel {c}: {got} vs PIL {want}"
        );
    }
}
