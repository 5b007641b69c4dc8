//! `bcfmon new scheme REF`: writes schemes/REF.toml with every field present and explained.

use std::path::Path;

const TEMPLATE: &str = include_str!("../../templates/scheme.toml");

/// The scaffold text for a scheme, listing the programme's partners when they can be read.
pub(crate) fn scaffold(reference: &str, partner_ids: &[String]) -> String {
    let partners = if partner_ids.is_empty() {
        "see [[partner]] there".to_string()
    } else {
        partner_ids.join(", ")
    };
    TEMPLATE
        .replace("{{ reference }}", reference)
        .replace("{{ partners }}", &partners)
}

pub(crate) fn run(root: &Path, reference: &str) -> Result<(), String> {
    if reference.is_empty()
        || !reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "bcfmon new scheme: `{reference}` is not a usable scheme reference\n  hint: letters, digits, `-` and `_`, e.g. S3PO2"
        ));
    }
    let dir = root.join("schemes");
    if !dir.is_dir() {
        return Err(format!(
            "bcfmon new scheme: there is no schemes/ folder in {}\n  hint: run it from the folder that holds schemes/, or pass --root DIR",
            root.display()
        ));
    }
    let path = dir.join(format!("{reference}.toml"));
    let partners: Vec<String> = crate::config::load(root)
        .map(|p| p.settings.partners.iter().map(|x| x.id.clone()).collect())
        .unwrap_or_default();
    let text = scaffold(reference, &partners);
    // create_new refuses to overwrite, atomically, even if the file appears meanwhile.
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(format!(
                "bcfmon new scheme: {} already exists; it was left as it is",
                path.display()
            ));
        }
        Err(e) => {
            return Err(format!(
                "bcfmon new scheme: cannot create {}: {e}",
                path.display()
            ))
        }
    };
    std::io::Write::write_all(&mut file, text.as_bytes())
        .map_err(|e| format!("bcfmon new scheme: cannot write {}: {e}", path.display()))?;
    println!(
        "wrote {}: fill in every \"<...>\" value, then run `bcfmon check`",
        path.display()
    );
    Ok(())
}
