//! Where bcfmon may write, and how: no output replaces an input (a scheme file, the programme
//! file, an extract, the templates) or anything bcfmon did not make, and every file and pack
//! is put in place atomically, so a failed run leaves what was there as it was.

use crate::programme::Settings;
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// The name of the mark a pack folder carries: the list of the files bcfmon wrote into it.
/// A folder is replaced only when it holds nothing but what its mark lists.
pub(crate) const PACK_MARK: &str = ".bcfmon-pack";

/// The first line of a pack's mark.
const MARK_HEADER: &str = "bcfmon pack: the files below were written by bcfmon report";

/// Every input of a run, resolved (absolute, symlinks followed), with the role each plays.
#[derive(Debug, Default)]
pub(crate) struct Inputs {
    files: Vec<(PathBuf, String)>,
    folders: Vec<(PathBuf, String)>,
}

impl Inputs {
    /// The inputs under `root`: the root itself, schemes/ and data/, every scheme file and
    /// the programme file, every configured extract path (whether or not a file is there yet)
    /// and every `data/<extract>.parquet|csv` that exists, and the templates folder if given.
    pub(crate) fn of(root: &Path, settings: Option<&Settings>, templates: Option<&Path>) -> Inputs {
        let mut inputs = Inputs::default();
        inputs.folder(root, "the root folder (it holds schemes/ and data/)");
        inputs.folder(&root.join("schemes"), "the schemes folder");
        inputs.folder(&root.join("data"), "the data folder");
        if let Some(t) = templates {
            inputs.folder(t, "the templates folder (--templates)");
        }
        if let Ok(entries) = std::fs::read_dir(root.join("schemes")) {
            for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
                if path.extension().is_some_and(|x| x == "toml") {
                    let role = if path.file_name().is_some_and(|n| n == "programme.toml") {
                        "the programme file".to_string()
                    } else {
                        "a scheme file".to_string()
                    };
                    inputs.file(&path, role);
                }
            }
        }
        for name in crate::contract::extract_names() {
            if let Some(ds) = settings.and_then(|s| s.data.get(name)) {
                let full = root.join(&ds.path);
                let role = format!("the {name} extract ([data.{name}] path)");
                // A glob's or a folder's files, and the folder itself.
                for part in crate::extract::parts_of(&full, &ds.path.to_string_lossy()) {
                    inputs.file(&part, format!("a file of {role}"));
                }
                if full.is_dir() {
                    inputs.folder(&full, &role);
                } else {
                    inputs.file(&full, role);
                }
            }
            for (rel, _) in crate::extract::discovered(name) {
                let path = root.join(rel);
                if path.exists() {
                    inputs.file(&path, format!("the {name} extract"));
                }
            }
        }
        inputs
    }

    fn file(&mut self, path: &Path, role: String) {
        self.files.push((resolve(path), role));
    }

    fn folder(&mut self, path: &Path, role: &str) {
        self.folders.push((resolve(path), role.to_string()));
    }

    /// The role of the input at `resolved`, file or folder.
    fn role_of(&self, resolved: &Path) -> Option<&str> {
        self.files
            .iter()
            .chain(&self.folders)
            .find(|(p, _)| p == resolved)
            .map(|(_, r)| r.as_str())
    }

    /// Refuses a file output that is an input or a folder; `what` names the output in the
    /// message (`--out`), `hint` says what to do instead.
    pub(crate) fn check_file(&self, path: &Path, what: &str, hint: &str) -> Result<(), String> {
        let resolved = resolve(path);
        if let Some(role) = self.role_of(&resolved) {
            return Err(format!(
                "{what} {} is {role}, an input: bcfmon never writes over its inputs; nothing was written\n  hint: {hint}",
                path.display()
            ));
        }
        if path.is_dir() {
            return Err(format!(
                "{what} {} is a folder; nothing was written\n  hint: {hint}",
                path.display()
            ));
        }
        Ok(())
    }

    /// Refuses a pack folder that is, holds or contains an input, is not a folder, or holds
    /// anything the pack's mark does not list. Missing and empty folders are fine.
    /// `what` names the folder in the message (`--out`, or "the pack folder" by default).
    pub(crate) fn check_pack(&self, dir: &Path, what: &str) -> Result<(), String> {
        let resolved = resolve(dir);
        let shown = dir.display();
        let refuse = |problem: String| {
            Err(format!(
                "{what} {shown} {problem}; nothing was touched\n  hint: give a new or empty folder, e.g. out/pack (bcfmon replaces a folder only when it holds a pack it wrote)"
            ))
        };
        if let Some(role) = self.role_of(&resolved) {
            return refuse(format!("is {role}, an input"));
        }
        // Folders first: the outermost input held is the one to name.
        if let Some((_, role)) = self
            .folders
            .iter()
            .chain(&self.files)
            .find(|(p, _)| p.starts_with(&resolved))
        {
            return refuse(format!("holds {role}, an input"));
        }
        let Ok(meta) = std::fs::symlink_metadata(dir) else {
            return Ok(());
        };
        if meta.file_type().is_symlink() {
            return refuse("is a symbolic link".into());
        }
        if !meta.is_dir() {
            return refuse("is a file, not a folder: the pack is a folder".into());
        }
        let foreign = foreign_entries(dir);
        if foreign.is_empty() {
            return Ok(());
        }
        let mut listed: Vec<String> = foreign.iter().take(3).cloned().collect();
        if foreign.len() > 3 {
            listed.push(format!("and {} more", foreign.len() - 3));
        }
        if dir.join(PACK_MARK).is_file() {
            refuse(format!(
                "holds files bcfmon did not write ({})",
                listed.join(", ")
            ))
        } else {
            refuse(format!(
                "is a folder that is not a bcfmon pack (it holds {})",
                listed.join(", ")
            ))
        }
    }
}

/// The entries under `dir` (relative, `/`-separated) that its pack mark does not list: all
/// of them when there is no mark.
fn foreign_entries(dir: &Path) -> Vec<String> {
    let listed: BTreeSet<String> = std::fs::read_to_string(dir.join(PACK_MARK))
        .ok()
        .filter(|t| t.starts_with(MARK_HEADER))
        .map(|t| t.lines().skip(1).map(str::to_string).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&rel)) else {
            out.push(rel.display().to_string());
            continue;
        };
        let mut names: Vec<_> = entries.filter_map(|e| e.ok()).collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let r = rel.join(e.file_name());
            let key = r.to_string_lossy().replace('\\', "/");
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                // A folder is the pack's when some listed file is inside it.
                if listed.iter().any(|l| l.starts_with(&format!("{key}/"))) {
                    stack.push(r);
                } else {
                    out.push(format!("{key}/"));
                }
            } else if key != PACK_MARK && !listed.contains(&key) {
                out.push(key);
            }
        }
    }
    out.sort();
    out
}

/// `path` made absolute with symlinks followed; the part that does not exist yet is
/// appended as written (`..` removed lexically), so a new path compares like an old one.
pub(crate) fn resolve(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for c in rest.iter().rev() {
                match c {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::CurDir => {}
                    other => out.push(other.as_os_str()),
                }
            }
            return out;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// The folder a path is in (`.` for a bare name) and its last component.
fn beside(path: &Path) -> (&Path, Option<String>) {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    (dir, name)
}

/// Where a file is written until it is complete: a hidden name of this process's beside it,
/// which nothing else uses.
pub(crate) fn partial_path(path: &Path) -> PathBuf {
    let (dir, name) = beside(path);
    dir.join(format!(
        ".{}.bcfmon-{}.partial",
        name.unwrap_or_default(),
        std::process::id()
    ))
}

/// Creates the partial file of `path` (see `partial_path`): always a new file, so a file of
/// the same name that bcfmon did not make is never truncated.
pub(crate) fn create_partial(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(partial_path(path))
}

/// Writes a file atomically: a new temporary file beside it, then a rename over it. A folder
/// it needs that is not there yet is made (a scheduler's job writes into a new folder per
/// shard); making a folder replaces nothing.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    if let Some(parent) = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && !p.exists())
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot make the folder {}: {e}", parent.display()))?;
    }
    let tmp = partial_path(path);
    let mut file =
        create_partial(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    if let Err(e) = file.write_all(bytes).and_then(|_| file.sync_all()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

/// Writes every file of a pack into a new folder beside `out`, marks it, then swaps it into
/// place; the old pack (checked by `Inputs::check_pack` first) is removed only once the new
/// one stands. Nothing that existed before is removed unless it was a bcfmon pack.
pub(crate) fn write_pack(
    out: &Path,
    what: &str,
    files: &crate::report::Files,
    inputs: &Inputs,
) -> Result<(), String> {
    inputs.check_pack(out, what)?;
    let (parent, name) = beside(out);
    let name = name.ok_or_else(|| format!("{what} {}: not a folder name", out.display()))?;
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let pid = std::process::id();
    let building = parent.join(format!(".{name}.bcfmon-building-{pid}"));
    let old = parent.join(format!(".{name}.bcfmon-old-{pid}"));
    // create_dir (not _all): it fails rather than reuse anything already there.
    std::fs::create_dir(&building).map_err(|e| format!("{}: {e}", building.display()))?;
    let write_all = || -> Result<(), String> {
        let mut mark = format!("{MARK_HEADER}\n");
        for rel in files.keys() {
            mark.push_str(rel);
            mark.push('\n');
        }
        // The mark first: a folder left by a crash is still recognisably bcfmon's.
        std::fs::write(building.join(PACK_MARK), mark)
            .map_err(|e| format!("{}: {e}", building.display()))?;
        for (rel, bytes) in files {
            let path = building.join(rel);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    };
    if let Err(e) = write_all() {
        let _ = std::fs::remove_dir_all(&building);
        return Err(e);
    }
    let had_old = out.exists();
    if had_old {
        if let Err(e) = std::fs::rename(out, &old) {
            let _ = std::fs::remove_dir_all(&building);
            return Err(format!("{}: {e}", out.display()));
        }
    }
    if let Err(e) = std::fs::rename(&building, out) {
        // Put the old pack back.
        if had_old {
            let _ = std::fs::rename(&old, out);
        }
        let _ = std::fs::remove_dir_all(&building);
        return Err(format!("{}: {e}", out.display()));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_path_resolves_through_its_existing_parent() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        assert_eq!(resolve(&dir.path().join("a/../b.csv")), real.join("b.csv"));
        assert_eq!(resolve(&dir.path().join("x/y")), real.join("x/y"));
    }

    #[test]
    fn only_a_marked_pack_or_an_empty_folder_may_be_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = Inputs::default();
        let pack = dir.path().join("pack");
        // Missing, then empty: fine.
        assert!(inputs.check_pack(&pack, "--out").is_ok());
        std::fs::create_dir(&pack).unwrap();
        assert!(inputs.check_pack(&pack, "--out").is_ok());
        // A pack bcfmon wrote: fine, and replaced.
        let mut files = crate::report::Files::new();
        files.insert("index.html".into(), b"one".to_vec());
        files.insert("charts/a.svg".into(), b"<svg/>".to_vec());
        write_pack(&pack, "--out", &files, &inputs).unwrap();
        assert_eq!(
            foreign_entries(&pack),
            Vec::<String>::new(),
            "the mark lists every file"
        );
        files.insert("index.html".into(), b"two".to_vec());
        write_pack(&pack, "--out", &files, &inputs).unwrap();
        assert_eq!(std::fs::read(pack.join("index.html")).unwrap(), b"two");
        // A file the user put in it: refused, and nothing touched.
        std::fs::write(pack.join("minutes.docx"), b"mine").unwrap();
        let err = write_pack(&pack, "--out", &files, &inputs).unwrap_err();
        assert!(
            err.contains("holds files bcfmon did not write (minutes.docx)"),
            "{err}"
        );
        assert_eq!(std::fs::read(pack.join("minutes.docx")).unwrap(), b"mine");
        // A regular file: refused.
        let doc = dir.path().join("minutes.docx");
        std::fs::write(&doc, b"mine").unwrap();
        assert!(inputs
            .check_pack(&doc, "--out")
            .unwrap_err()
            .contains("is a file"));
        // A folder of someone else's: refused.
        let other = dir.path().join("other");
        std::fs::create_dir_all(other.join("sub")).unwrap();
        assert!(inputs
            .check_pack(&other, "--out")
            .unwrap_err()
            .contains("is a folder that is not a bcfmon pack (it holds sub/)"));
        // Nothing beside the pack is left behind.
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["minutes.docx", "other", "pack"]);
    }
}
