//! `cargo xtask report-check`: opens the `report.html` of a tiny training run in headless
//! Chromium (Debian's `chromium`, installed here when missing) and fails when the page shows
//! a JavaScript error, a broken image or a missing section; saves a screenshot. A self-test
//! first feeds the same probe a page with a broken image and a script error, which must fail,
//! so the check is known to be able to fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use clap::Args;

/// The sections every run page must have (element ids).
pub const RUN_SECTIONS: [&str; 6] = [
    "metrics",
    "curves",
    "galleries",
    "worst",
    "confused",
    "config",
];

/// Options of `report-check`.
#[derive(Args, Debug)]
pub struct ReportCheckArgs {
    /// Check this existing run folder's `report.html` instead of training a tiny run.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Where the tiny run is written [default: target/report-check].
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// Screenshot file [default: `<run>/report.png`].
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Browser window (and screenshot) size, `WIDTHxHEIGHT`.
    #[arg(long, default_value = "1400x2400")]
    pub window: String,
}

/// What the probe script found on the page.
#[derive(Debug, serde::Deserialize, PartialEq)]
pub struct ProbeResult {
    /// `<img>` elements.
    pub images: usize,
    /// Images that did not load or decode.
    pub broken: usize,
    /// Inline SVG charts.
    pub svgs: usize,
    /// Required section ids absent from the page.
    pub missing: Vec<String>,
    /// Script errors and failed resources.
    pub errors: Vec<String>,
}

impl ProbeResult {
    /// Every problem, one line each; empty when the page is sound.
    pub fn problems(&self, min_images: usize, min_svgs: usize) -> Vec<String> {
        let mut out: Vec<String> = self.errors.iter().map(|e| format!("error: {e}")).collect();
        if self.broken > 0 {
            out.push(format!(
                "{} of {} images are broken",
                self.broken, self.images
            ));
        }
        for m in &self.missing {
            out.push(format!("section #{m} is missing"));
        }
        if self.images < min_images {
            out.push(format!(
                "{} images, expected at least {min_images}",
                self.images
            ));
        }
        if self.svgs < min_svgs {
            out.push(format!(
                "{} charts, expected at least {min_svgs}",
                self.svgs
            ));
        }
        out
    }
}

/// The probe injected first into `<head>`: it records script errors and failed resources,
/// then, on `load`, counts broken images and missing sections into `<pre id="xbn-probe">`.
fn probe_script(sections: &[&str]) -> String {
    let ids = serde_json::to_string(sections).unwrap_or_else(|_| "[]".into());
    format!(
        r#"<script>(function(){{
var errors=[];
window.addEventListener('error',function(e){{var t=e.target;
if(t&&t!==window&&t.tagName){{errors.push('resource '+t.tagName+' '+String(t.src||t.href||'').slice(0,80));}}
else{{errors.push('script: '+(e.message||'unknown'));}}}},true);
window.addEventListener('load',function(){{
var im=document.images,broken=0;for(var i=0;i<im.length;i++){{if(!im[i].complete||im[i].naturalWidth===0)broken++;}}
var need={ids};var missing=need.filter(function(id){{return !document.getElementById(id);}});
var out=document.createElement('pre');out.id='xbn-probe';
out.textContent=JSON.stringify({{images:im.length,broken:broken,svgs:document.querySelectorAll('svg').length,missing:missing,errors:errors}});
document.body.appendChild(out);}});
}})();</script>"#
    )
}

/// `html` with the probe inserted right after `<head>` (or at the start).
pub fn inject_probe(html: &str, sections: &[&str]) -> String {
    let probe = probe_script(sections);
    match html.find("<head>") {
        Some(i) => format!("{}{probe}{}", &html[..i + 6], &html[i + 6..]),
        None => format!("{probe}{html}"),
    }
}

/// The probe's result from Chromium's `--dump-dom` output.
pub fn parse_probe(dom: &str) -> anyhow::Result<ProbeResult> {
    let start_tag = "<pre id=\"xbn-probe\">";
    let start = dom
        .find(start_tag)
        .context("the probe wrote no result (the page did not finish loading?)")?
        + start_tag.len();
    let end = dom[start..]
        .find("</pre>")
        .context("unterminated probe result")?;
    let json = dom[start..start + end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    serde_json::from_str(&json).with_context(|| format!("probe result is not JSON: {json}"))
}

/// Chromium: `$XBN_CHROMIUM`, else `chromium` / `chromium-browser` on the PATH, else Debian's
/// package installed with apt-get.
fn chromium() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("XBN_CHROMIUM") {
        return Ok(PathBuf::from(p));
    }
    let find = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
                .find(|p| p.is_file())
        })
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    eprintln!("report-check: installing Debian's chromium (apt-get install chromium)");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !install() {
        let _ = Command::new("apt-get").args(["update", "-q"]).status();
        if !install() {
            bail!(
                "Chromium is needed to check report.html: install Debian's `chromium` \
                 (apt-get install chromium, as root) or set XBN_CHROMIUM to a Chrome/Chromium binary"
            );
        }
    }
    find().context("apt-get installed chromium, but it is not on the PATH")
}

/// Runs headless Chromium on `page` with the flags this machine's closed network needs.
fn headless(
    chromium: &Path,
    profile: &Path,
    window: &str,
    extra: &[String],
    page: &Path,
) -> anyhow::Result<String> {
    let window = window.replace('x', ",");
    let url = format!("file://{}", std::fs::canonicalize(page)?.display());
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={window}"))
        .args(extra)
        .arg(url)
        .output()
        .with_context(|| format!("could not start {}", chromium.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed ({}): {}",
            chromium.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Probes `page` (a copy with the probe injected is written beside it).
fn probe(chromium: &Path, work: &Path, page: &Path, window: &str) -> anyhow::Result<ProbeResult> {
    let html =
        std::fs::read_to_string(page).with_context(|| format!("reading {}", page.display()))?;
    let probed = work.join("probed.html");
    std::fs::write(&probed, inject_probe(&html, &RUN_SECTIONS))?;
    let dom = headless(
        chromium,
        &work.join("profile"),
        window,
        &["--dump-dom".into()],
        &probed,
    )?;
    parse_probe(&dom)
}

/// The self-test: a page with a broken image and a throwing script must be caught.
fn self_test(chromium: &Path, work: &Path, window: &str) -> anyhow::Result<()> {
    let bad = work.join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><html><head><title>bad</title></head><body>\
         <section id=\"metrics\"></section><img src=\"data:image/png;base64,AAAA\">\
         <script>undefinedFunction();</script></body></html>",
    )?;
    let r = probe(chromium, work, &bad, window)?;
    let problems = r.problems(1, 0);
    let caught = |needle: &str| problems.iter().any(|p| p.contains(needle));
    if !(caught("broken") && caught("script") && caught("#curves")) {
        bail!("report-check self-test: the probe missed faults on a broken page: {r:?}");
    }
    println!(
        "report-check self-test: a broken page is caught ({} problems)",
        problems.len()
    );
    Ok(())
}

/// `cargo xtask report-check`.
pub fn report_check(args: &ReportCheckArgs, root: &Path) -> anyhow::Result<()> {
    let chromium = chromium()?;
    let work = root.join("target").join("report-check");
    std::fs::create_dir_all(&work)?;
    self_test(&chromium, &work, &args.window)?;
    let run = match &args.run {
        Some(run) => run.clone(),
        None => tiny_run(
            root,
            args.output_dir.clone().unwrap_or_else(|| work.clone()),
        )?,
    };
    let page = run.join("report.html");
    let r = probe(&chromium, &work, &page, &args.window)?;
    let problems = r.problems(2, 3);
    if !problems.is_empty() {
        bail!("{}: {}", page.display(), problems.join("; "));
    }
    let shot = args
        .screenshot
        .clone()
        .unwrap_or_else(|| run.join("report.png"));
    headless(
        &chromium,
        &work.join("profile"),
        &args.window,
        &[format!(
            "--screenshot={}",
            std::fs::canonicalize(shot.parent().unwrap_or(Path::new(".")))?
                .join(shot.file_name().unwrap_or_default())
                .display()
        )],
        &page,
    )?;
    println!(
        "report-check: {} is sound ({} images, {} charts, no errors); screenshot {}",
        page.display(),
        r.images,
        r.svgs,
        shot.display()
    );
    Ok(())
}

/// Trains a tiny run (seconds) with the default configuration made small; returns its folder.
fn tiny_run(root: &Path, output_dir: PathBuf) -> anyhow::Result<PathBuf> {
    let name = "tiny";
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["run", "--quiet", "-p", "xbn-train", "--"])
        .arg("--output-dir")
        .arg(&output_dir)
        .args([
            "--name",
            name,
            "--iterations",
            "150",
            "--eval-every",
            "50",
            "--measure-drift",
            "25",
        ])
        .args([
            "--set",
            "run.overwrite=true",
            "--set",
            "run.progress=false",
            "--set",
            "run.log_every=5",
            "--set",
            "data.image_size=32",
            "--set",
            "data.synthetic.classes=60",
            "--set",
            "model.channels=[16, 32]",
            "--set",
            "memory.size=256",
            "--set",
            "memory.t_start=10",
        ])
        .status()
        .context("could not start the tiny training run")?;
    if !status.success() {
        bail!("the tiny training run failed ({status})");
    }
    Ok(output_dir.join(name))
}
