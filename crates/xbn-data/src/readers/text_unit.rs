//! What one sample of a `text-folder` dataset is: a whole file, or one line of a file.

/// How the `text-folder` reader cuts its files into samples
/// ([`LoadOptions::text_unit`](super::LoadOptions::text_unit)).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TextUnit {
    /// One sample per file: the file's text, trimmed (`file`).
    File,
    /// One sample per non-blank line, trimmed (`line`, the default).
    #[default]
    Line,
}
