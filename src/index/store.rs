//! Writing an index directory atomically and reading it back checked.
//!
//! The index path `dir/NAME` is a symbolic link to a versioned sibling
//! directory `dir/.NAME.v<nanos>-<pid>`. A write fills and fsyncs a new
//! version, creates a new link beside the old one and renames it over the old
//! one (`rename(2)` replaces a link atomically), then removes the old
//! version: a reader resolving `NAME` sees the old index or the new one, never
//! a mix and never nothing, and a failed or interrupted build leaves the old
//! index as it was.
//!
//! A plain directory at `NAME` (the layout of earlier versions, or an empty
//! directory) cannot be swapped for a link in one step: the first write moves
//! it aside, puts the link in its place and removes it, so readers may miss
//! the index for that one moment. Every later write is atomic.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Name of the manifest file inside an index directory.
pub const MANIFEST: &str = "manifest.json";

/// Removes a directory being written unless the write completed.
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

fn file_name(target: &Path) -> Result<String> {
    target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .ok_or_else(|| Error::InvalidInput(format!("{}: not a usable index path", target.display())))
}

/// `.NAME.{tag}-PID` beside `target`.
fn sibling(target: &Path, tag: &str) -> Result<PathBuf> {
    let name = file_name(target)?;
    Ok(target.with_file_name(format!(".{name}.{tag}-{}", std::process::id())))
}

/// Prefix of the names of the versions of the index `NAME`: `.NAME.v`.
fn version_prefix(target: &Path) -> Result<String> {
    Ok(format!(".{}.v", file_name(target)?))
}

/// A new version's name: unique per process and moment.
fn new_version(target: &Path) -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!("{}{nanos}-{}", version_prefix(target)?, std::process::id());
    Ok(target.with_file_name(name))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// What is at an index path now.
enum Existing {
    Nothing,
    /// A link (to an index directory, or to an empty one); `own` is the version
    /// directory it points to when that is one of ours, to remove once replaced.
    Link {
        own: Option<PathBuf>,
    },
    /// A plain directory: an index of the old layout, or empty.
    Directory,
}

/// What `target` is, or an error when writing an index there would destroy
/// something else: a file (such as the input corpus), or a directory that is
/// neither empty nor an exemplar index (through a link or not). Called before
/// any work is done, so a typo in `--out` costs nothing and changes nothing.
fn existing(target: &Path) -> Result<Existing> {
    let prefix = version_prefix(target)?;
    let metadata = match fs::symlink_metadata(target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        other => other.map_err(|e| Error::io(target, e))?,
    };
    let refuse = |what: &str| {
        Err(Error::InvalidInput(format!(
            "{} exists and is {what}; refusing to replace it (choose another --out)",
            target.display()
        )))
    };
    if !fs::metadata(target).is_ok_and(|m| m.is_dir()) {
        return refuse("not a directory, so not an exemplar index");
    }
    let empty = fs::read_dir(target)
        .map_err(|e| Error::io(target, e))?
        .next()
        .is_none();
    if !empty && !target.join(MANIFEST).is_file() {
        return refuse("not an exemplar index");
    }
    if !metadata.file_type().is_symlink() {
        return Ok(Existing::Directory);
    }
    let link = fs::read_link(target).map_err(|e| Error::io(target, e))?;
    // Only a version this module wrote beside the link is removed; a link the
    // user made to an index elsewhere is replaced, its directory left alone.
    let own = (link.components().count() == 1 && link.to_string_lossy().starts_with(&prefix))
        .then(|| target.with_file_name(&link));
    Ok(Existing::Link { own })
}

/// Refuses an index path whose replacement would destroy something that is
/// not an exemplar index (see [`write_dir_atomically`]); changes nothing.
pub fn check_replaceable(target: &Path) -> Result<()> {
    existing(target).map(|_| ())
}

/// The directory an index path stands for now: the version its link points
/// to, or the path itself when it is not a link.
pub fn resolve(target: &Path) -> PathBuf {
    match fs::read_link(target) {
        Ok(link) => parent_of(target).join(link),
        Err(_) => target.to_path_buf(),
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

/// Writes `files` (name, bytes) as a new version of the index `target` and
/// makes `target` point to it, replacing any index there (see the module
/// documentation); refuses to replace anything else.
pub fn write_dir_atomically(target: &Path, files: &[(&str, Vec<u8>)]) -> Result<()> {
    let existing = existing(target)?;
    let parent = parent_of(target);
    fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let mut version = Staging {
        path: new_version(target)?,
        done: false,
    };
    write_files(&version.path, files)?;
    swap_link(target, &version.path, &existing)?;
    version.done = true;
    if let Existing::Link { own: Some(old) } = existing {
        fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    sync_dir(&parent)
}

/// Creates `dir` holding `files`, each fsynced, and fsyncs it.
fn write_files(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<()> {
    fs::create_dir(dir).map_err(|e| Error::io(dir, e))?;
    for (name, bytes) in files {
        let path = dir.join(name);
        let mut file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        file.write_all(bytes)
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io(&path, e))?;
    }
    sync_dir(dir)
}

/// Points `target` at `version` with a link renamed over whatever link was
/// there; a plain directory there is moved aside first and removed after.
fn swap_link(target: &Path, version: &Path, existing: &Existing) -> Result<()> {
    let link = sibling(target, "link")?;
    let _ = fs::remove_file(&link);
    let relative = version.file_name().unwrap_or_default();
    std::os::unix::fs::symlink(relative, &link).map_err(|e| Error::io(&link, e))?;
    let aside = match existing {
        Existing::Directory => {
            let aside = sibling(target, "old")?;
            fs::rename(target, &aside).map_err(|e| Error::io(target, e))?;
            Some(aside)
        }
        _ => None,
    };
    if let Err(e) = fs::rename(&link, target) {
        let _ = fs::remove_file(&link);
        if let Some(aside) = &aside {
            let _ = fs::rename(aside, target);
        }
        return Err(Error::io(target, e));
    }
    if let Some(aside) = aside {
        fs::remove_dir_all(&aside).map_err(|e| Error::io(&aside, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_an_index_and_leaves_one_version_behind() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("idx");
        write_dir_atomically(&target, &[(MANIFEST, b"one".to_vec())]).unwrap();
        write_dir_atomically(&target, &[(MANIFEST, b"two".to_vec()), ("data", vec![1, 2])]).unwrap();
        assert_eq!(fs::read(target.join(MANIFEST)).unwrap(), b"two");
        let names = names(root.path());
        assert_eq!(names.len(), 2, "{names:?}");
        assert_eq!(names[1], "idx");
        assert!(names[0].starts_with(".idx.v"), "{names:?}");
        assert_eq!(resolve(&target), root.path().join(&names[0]));
    }

    #[test]
    fn replaces_an_index_of_the_old_layout() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("idx");
        fs::create_dir(&target).unwrap();
        fs::write(target.join(MANIFEST), "old").unwrap();
        write_dir_atomically(&target, &[(MANIFEST, b"new".to_vec())]).unwrap();
        assert!(fs::symlink_metadata(&target).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(target.join(MANIFEST)).unwrap(), b"new");
        assert_eq!(names(root.path()).len(), 2);
    }

    #[test]
    fn replaces_a_link_to_an_index_elsewhere_but_keeps_that_index() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = root.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        fs::write(elsewhere.join(MANIFEST), "theirs").unwrap();
        let target = root.path().join("idx");
        std::os::unix::fs::symlink(&elsewhere, &target).unwrap();
        write_dir_atomically(&target, &[(MANIFEST, b"ours".to_vec())]).unwrap();
        assert_eq!(fs::read(target.join(MANIFEST)).unwrap(), b"ours");
        assert_eq!(fs::read(elsewhere.join(MANIFEST)).unwrap(), b"theirs");
    }

    #[test]
    fn refuses_to_replace_a_directory_that_is_not_an_index() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("notes.txt"), "keep me").unwrap();
        let err = write_dir_atomically(root.path(), &[(MANIFEST, b"x".to_vec())]).unwrap_err();
        assert!(err.to_string().contains("not an exemplar index"), "{err}");
        assert_eq!(names(root.path()), ["notes.txt"]);
        assert_eq!(
            fs::read_to_string(root.path().join("notes.txt")).unwrap(),
            "keep me"
        );
    }

    #[test]
    fn refuses_to_replace_a_file_or_a_link_to_one_and_touches_nothing() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("train.tsv");
        fs::write(&file, "a\tO\n").unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        for target in [&file, &link] {
            let err = write_dir_atomically(target, &[(MANIFEST, b"x".to_vec())]).unwrap_err();
            assert!(err.to_string().contains("not a directory"), "{err}");
        }
        assert_eq!(fs::read(&file).unwrap(), b"a\tO\n");
        assert_eq!(names(root.path()), ["link", "train.tsv"]);
    }
}
