//! The retrieval gallery as one PNG, for papers and issue reports: one row per query, the
//! query (blue border) then its nearest references, each with a green (same class) or red
//! (other class) border and its cosine similarity underneath.

use std::path::Path;

use image::{Rgb, RgbImage};
use plotters::prelude::*;
use xbn_data::{DatasetIndex, ItemSource};

use super::retrieval::QueryResult;
use super::thumbnails::fit;
use crate::error::{Result, TrainError};

const BORDER: u32 = 4;
const PAD: u32 = 8;
const GAP: u32 = 16;
const TEXT: u32 = 18;
const HEADER: u32 = 28;
const QUERY: Rgb<u8> = Rgb([9, 105, 218]);
const SAME: Rgb<u8> = Rgb([26, 127, 55]);
const OTHER: Rgb<u8> = Rgb([207, 34, 46]);

/// Draws `rows` (queries with their neighbours) into a PNG at `path`, pictures fitted to
/// `size` pixels. `query_items[r]` / `ref_items[r]` are the dataset items of query and
/// reference rows. Text items are refused: the page (`report.html`) shows those.
pub fn draw_gallery(
    path: &Path,
    index: &DatasetIndex,
    query_items: &[usize],
    ref_items: &[usize],
    rows: &[QueryResult],
    size: u32,
) -> Result<()> {
    if rows.is_empty() {
        return Err(TrainError::Report("no query to draw".into()));
    }
    let k = rows.iter().map(|r| r.neighbours.len()).max().unwrap_or(0);
    let cell = size + 2 * BORDER + PAD;
    let width = PAD + cell + GAP + k as u32 * cell;
    let row_h = size + 2 * BORDER + TEXT + PAD;
    let height = HEADER + rows.len() as u32 * row_h + PAD;
    let mut canvas = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    let mut labels: Vec<(u32, u32, String)> = Vec::new();
    for (i, q) in rows.iter().enumerate() {
        let y = HEADER + i as u32 * row_h;
        let mut x = PAD;
        paste(&mut canvas, index, query_items[q.row], x, y, size, QUERY)?;
        labels.push((
            x,
            y + size + 2 * BORDER,
            format!("query · class {}", q.label),
        ));
        x += cell + GAP;
        for n in &q.neighbours {
            let colour = if n.same_class { SAME } else { OTHER };
            paste(&mut canvas, index, ref_items[n.row], x, y, size, colour)?;
            labels.push((x, y + size + 2 * BORDER, format!("{:.3}", n.similarity)));
            x += cell;
        }
    }
    let (w, h) = canvas.dimensions();
    let mut raw = canvas.into_raw();
    {
        let fail = |e: String| TrainError::Plot {
            path: path.to_path_buf(),
            source: e.into(),
        };
        let root = BitMapBackend::with_buffer(&mut raw, (w, h)).into_drawing_area();
        let style = ("sans-serif", 14).into_font().color(&BLACK);
        let head = ("sans-serif", 16).into_font().color(&BLACK);
        root.draw(&Text::new(
            format!(
                "query | nearest {k}: green = same class, red = other class; cosine similarity"
            ),
            (PAD as i32, 6),
            head,
        ))
        .map_err(|e| fail(e.to_string()))?;
        for (x, y, t) in &labels {
            root.draw(&Text::new(
                t.as_str(),
                (*x as i32, *y as i32 + 2),
                style.clone(),
            ))
            .map_err(|e| fail(e.to_string()))?;
        }
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    let canvas = RgbImage::from_raw(w, h, raw)
        .ok_or_else(|| TrainError::Report("gallery canvas has the wrong size".into()))?;
    canvas.save(path).map_err(|e| TrainError::Plot {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// Draws item `item`'s picture with a `colour` border in the `size`-pixel box at `(x, y)`.
fn paste(
    canvas: &mut RgbImage,
    index: &DatasetIndex,
    item: usize,
    x: u32,
    y: u32,
    size: u32,
    colour: Rgb<u8>,
) -> Result<()> {
    let source = &index
        .items
        .get(item)
        .ok_or_else(|| TrainError::Report(format!("item {item} is not in the dataset")))?
        .source;
    if let ItemSource::Text { origin, .. } = source {
        return Err(TrainError::Report(format!(
            "{origin} is a text sample: the PNG gallery draws pictures; report.html shows texts"
        )));
    }
    let outer = size + 2 * BORDER;
    for dy in 0..outer {
        for dx in 0..outer {
            canvas.put_pixel(x + dx, y + dy, colour);
        }
    }
    let grey = Rgb([246, 248, 250]);
    for dy in 0..size {
        for dx in 0..size {
            canvas.put_pixel(x + BORDER + dx, y + BORDER + dy, grey);
        }
    }
    match xbn_data::pipeline::load_image(source) {
        Ok(img) => {
            let t = fit(&img, size);
            let ox = x + BORDER + (size - t.width()) / 2;
            let oy = y + BORDER + (size - t.height()) / 2;
            image::imageops::replace(canvas, &t, ox.into(), oy.into());
        }
        Err(e) => tracing::warn!("gallery: {} not drawn: {e}", source.describe()),
    }
    Ok(())
}
