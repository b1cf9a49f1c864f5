//! Lexical checks on archive entry names and link targets, done before anything is written.
//!
//! An entry is accepted only when it is a relative path made of normal components: no leading
//! `/` or `\`, no drive prefix (`C:`), no `..`, no NUL. A symbolic link is accepted only when its
//! target is relative and its leading `..` components climb no higher than the link's own folder
//! allows; `..` after a normal component is refused (it could climb back out through another
//! link). Together with never writing through an existing link (see `extract`), nothing can land
//! outside the target folder.

/// Splits an entry name into normal components, refusing anything that could escape.
///
/// `/` and `\` both separate components; empty and `.` components are dropped.
pub fn relative_components(name: &str) -> Result<Vec<String>, String> {
    if name.contains('\0') {
        return Err("name contains a NUL byte".into());
    }
    if name.starts_with('/') || name.starts_with('\\') {
        return Err("absolute path".into());
    }
    let mut parts = Vec::new();
    for part in name.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err("path contains `..`".into()),
            p if parts.is_empty() && p.len() >= 2 && p.as_bytes()[1] == b':' => {
                return Err("path has a drive prefix".into());
            }
            p => parts.push(p.to_string()),
        }
    }
    Ok(parts)
}

/// Checks a symbolic link target for a link whose folder lies `depth` levels below the target
/// folder (`depth == 0`: the link sits in the target folder itself).
pub fn check_link_target(target: &str, depth: usize) -> Result<(), String> {
    if target.is_empty() {
        return Err("empty link target".into());
    }
    if target.contains('\0') {
        return Err("link target contains a NUL byte".into());
    }
    if target.starts_with('/') || target.starts_with('\\') {
        return Err(format!("link to absolute path `{target}`"));
    }
    let mut ups = 0usize;
    let mut seen_normal = false;
    for part in target.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." if seen_normal => {
                return Err(format!("link target `{target}` has `..` after a name"));
            }
            ".." => {
                ups += 1;
                if ups > depth {
                    return Err(format!(
                        "link target `{target}` points outside the target folder"
                    ));
                }
            }
            p if !seen_normal && p.len() >= 2 && p.as_bytes()[1] == b':' => {
                return Err(format!("link target `{target}` has a drive prefix"));
            }
            _ => seen_normal = true,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        assert_eq!(relative_components("a/./b/").unwrap(), vec!["a", "b"]);
        assert_eq!(relative_components("a\\b").unwrap(), vec!["a", "b"]);
        assert!(relative_components("/etc/passwd").is_err());
        assert!(relative_components("\\x").is_err());
        assert!(relative_components("a/../../b").is_err());
        assert!(relative_components("..").is_err());
        assert!(relative_components("C:/x").is_err());
        assert!(relative_components("a\0b").is_err());
    }

    #[test]
    fn link_targets() {
        assert!(check_link_target("b/c", 0).is_ok());
        assert!(check_link_target("../x", 1).is_ok());
        assert!(check_link_target("../x", 0).is_err());
        assert!(check_link_target("../../x", 1).is_err());
        assert!(check_link_target("a/../../x", 3).is_err());
        assert!(check_link_target("/etc", 5).is_err());
        assert!(check_link_target("", 0).is_err());
    }
}
