//! Folders: every file under them, in name order (so date-named folders come in time
//! order), hidden ones left out with a note, and empty folders noted.

use std::path::{Path, PathBuf};

/// What a folder holds, in order: files to read, and hidden entries skipped (with why).
pub fn walk(dir: &Path, out: &mut Vec<(PathBuf, Option<String>)>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: cannot read the folder: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: cannot read the folder: {e}", dir.display()))?;
    paths.sort();
    for path in paths {
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if path.is_dir() {
            if hidden {
                out.push((path, Some("hidden folder, skipped".to_string())));
            } else {
                let before = out.len();
                walk(&path, out)?;
                if out.len() == before {
                    out.push((path, Some("an empty folder: nothing to read".to_string())));
                }
            }
        } else if hidden {
            out.push((path, Some("hidden file, skipped".to_string())));
        } else {
            out.push((path, None));
        }
    }
    Ok(())
}
