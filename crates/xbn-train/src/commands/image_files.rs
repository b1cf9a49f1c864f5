//! The images of a folder for `index --images DIR`: every JPEG or PNG file below `DIR`
//! (recursively, hidden entries skipped, sorted by path), labelled by class subfolder when
//! every image sits in one.

use std::path::{Path, PathBuf};

use xbn_data::readers::folder::IMAGE_EXTENSIONS;

use crate::error::{Result, TrainError};

/// The images of a folder, with labels when the folder is organized by class.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFolder {
    /// The image files, sorted by path.
    pub paths: Vec<PathBuf>,
    /// Per image, the index in `classes` of its class subfolder; `None` when some image lies
    /// directly in the folder (labels unknown).
    pub labels: Option<Vec<i64>>,
    /// The class subfolders' names, sorted (empty without labels).
    pub classes: Vec<String>,
}

/// Lists the images below `dir`. When every image lies inside a subfolder of `dir`, the
/// first-level subfolder is its class; an image directly in `dir` makes the labels unknown.
/// A missing folder, or one without images, is an error naming it.
pub fn list_images(dir: &Path) -> Result<ImageFolder> {
    if !dir.is_dir() {
        return Err(TrainError::Inputs {
            what: format!("--images {}", dir.display()),
            message: "not a folder".into(),
        });
    }
    let mut paths = Vec::new();
    walk(dir, &mut Vec::new(), &mut paths)?;
    paths.sort();
    if paths.is_empty() {
        return Err(TrainError::Inputs {
            what: format!("--images {}", dir.display()),
            message: format!(
                "no images (.{}) found in the folder or its subfolders",
                IMAGE_EXTENSIONS.join(", .")
            ),
        });
    }
    let class_of = |p: &Path| -> Option<String> {
        let rel = p.strip_prefix(dir).ok()?;
        let mut parts = rel.components();
        let first = parts.next()?;
        // An image directly in `dir` has a single component.
        parts.next()?;
        Some(first.as_os_str().to_string_lossy().into_owned())
    };
    let names: Option<Vec<String>> = paths.iter().map(|p| class_of(p)).collect();
    let Some(names) = names else {
        return Ok(ImageFolder {
            paths,
            labels: None,
            classes: Vec::new(),
        });
    };
    let mut classes = names.clone();
    classes.sort();
    classes.dedup();
    let labels = names
        .iter()
        .map(|n| classes.binary_search(n).map_or(-1, |i| i as i64))
        .collect();
    Ok(ImageFolder {
        paths,
        labels: Some(labels),
        classes,
    })
}

/// Collects the images below `dir`; `visited` holds the folders being walked (canonical), so a
/// symbolic link back to one of them is not followed round in circles.
fn walk(dir: &Path, visited: &mut Vec<PathBuf>, out: &mut Vec<PathBuf>) -> Result<()> {
    let canonical = dir.canonicalize().map_err(|e| TrainError::io(dir, e))?;
    if visited.contains(&canonical) {
        return Ok(());
    }
    visited.push(canonical);
    let entries = std::fs::read_dir(dir).map_err(|e| TrainError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| TrainError::io(dir, e))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, visited, out)?;
        } else if is_image(&path) {
            out.push(path);
        }
    }
    visited.pop();
    Ok(())
}

fn is_image(path: &Path) -> bool {
    path.extension().is_some_and(|e| {
        IMAGE_EXTENSIONS
            .iter()
            .any(|x| x.eq_ignore_ascii_case(&e.to_string_lossy()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"x").unwrap();
    }

    #[test]
    fn class_subfolders_give_labels_and_a_loose_image_removes_them() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(&d.join("dog/b.PNG"));
        touch(&d.join("cat/x/a.jpg"));
        touch(&d.join("cat/notes.txt"));
        touch(&d.join(".hidden/c.png"));
        let f = list_images(d).unwrap();
        assert_eq!(f.paths, vec![d.join("cat/x/a.jpg"), d.join("dog/b.PNG")]);
        assert_eq!(f.labels, Some(vec![0, 1]));
        assert_eq!(f.classes, vec!["cat".to_string(), "dog".to_string()]);
        touch(&d.join("loose.jpeg"));
        let f = list_images(d).unwrap();
        assert_eq!(f.paths.len(), 3);
        assert_eq!(f.labels, None);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_back_to_a_parent_folder_is_not_followed_in_circles() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(&d.join("cat/a.png"));
        std::os::unix::fs::symlink(d, d.join("cat/loop")).unwrap();
        let f = list_images(d).unwrap();
        assert_eq!(f.paths, vec![d.join("cat/a.png")]);
    }

    #[test]
    fn an_empty_or_missing_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("sub/readme.txt"));
        let e = list_images(dir.path()).unwrap_err().to_string();
        assert!(e.contains(&dir.path().display().to_string()), "{e}");
        assert!(e.contains("no images"), "{e}");
        let e = list_images(&dir.path().join("absent"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a folder"), "{e}");
    }
}
