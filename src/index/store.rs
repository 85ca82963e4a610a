//! Writing an index directory atomically and reading it back checked.
//!
//! Files are written into a staging directory beside the target, each fsynced,
//! then the staging directory is renamed over the target: a reader sees the
//! old index or the new one, never a mix, and a failed or interrupted build
//! leaves the old index as it was.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Name of the manifest file inside an index directory.
pub const MANIFEST: &str = "manifest.json";

/// Removes a staging directory unless the write completed.
struct Staging {
    path: PathBuf,
    done: bool,
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

fn sibling(target: &Path, tag: &str) -> Result<PathBuf> {
    let name = target
        .file_name()
        .ok_or_else(|| Error::InvalidInput(format!("{}: not a usable index path", target.display())))?;
    Ok(target.with_file_name(format!(
        ".{}.{tag}-{}",
        name.to_string_lossy(),
        std::process::id()
    )))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Refuses to replace a directory that is not an exemplar index, so a typo in
/// `--out` cannot delete a user's data.
fn check_replaceable(target: &Path) -> Result<()> {
    let Ok(mut entries) = fs::read_dir(target) else {
        return Ok(());
    };
    let empty = entries.next().is_none();
    if empty || target.join(MANIFEST).is_file() {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{} exists and is not an exemplar index; refusing to replace it (choose another --out)",
            target.display()
        )))
    }
}

/// Writes one file atomically: a temporary file beside it, fsynced, renamed over it.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = sibling(path, "tmp")?;
    let written = File::create(&tmp).and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()));
    if let Err(e) = written.and_then(|_| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Writes `files` (name, bytes) as the directory `target`, replacing any index there.
pub fn write_dir_atomically(target: &Path, files: &[(&str, Vec<u8>)]) -> Result<()> {
    check_replaceable(target)?;
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let mut staging = Staging {
        path: sibling(target, "tmp")?,
        done: false,
    };
    let _ = fs::remove_dir_all(&staging.path);
    fs::create_dir(&staging.path).map_err(|e| Error::io(&staging.path, e))?;
    for (name, bytes) in files {
        let path = staging.path.join(name);
        let mut file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        file.write_all(bytes)
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io(&path, e))?;
    }
    sync_dir(&staging.path)?;

    let old = sibling(target, "old")?;
    let had_old = target.exists();
    if had_old {
        fs::rename(target, &old).map_err(|e| Error::io(target, e))?;
    }
    if let Err(e) = fs::rename(&staging.path, target) {
        if had_old {
            let _ = fs::rename(&old, target);
        }
        return Err(Error::io(target, e));
    }
    staging.done = true;
    if had_old {
        fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    sync_dir(&parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_an_index_and_leaves_no_staging_behind() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("idx");
        write_dir_atomically(&target, &[(MANIFEST, b"one".to_vec())]).unwrap();
        write_dir_atomically(&target, &[(MANIFEST, b"two".to_vec()), ("data", vec![1, 2])]).unwrap();
        assert_eq!(fs::read(target.join(MANIFEST)).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("idx")]);
    }

    #[test]
    fn refuses_to_replace_a_directory_that_is_not_an_index() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("notes.txt"), "keep me").unwrap();
        let err = write_dir_atomically(root.path(), &[(MANIFEST, b"x".to_vec())]).unwrap_err();
        assert!(err.to_string().contains("not an exemplar index"), "{err}");
        assert_eq!(
            fs::read_to_string(root.path().join("notes.txt")).unwrap(),
            "keep me"
        );
    }
}
