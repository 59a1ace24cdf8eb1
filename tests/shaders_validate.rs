//! Every `.wgsl` file in `shaders/` parses and validates with naga (no GPU
//! needed). The directory is read at test time, so new files are covered.

use std::path::Path;

#[test]
fn every_shader_parses_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .wgsl files in {}", dir.display());

    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let src = std::fs::read_to_string(path).unwrap();
        let head: String = src.lines().take(12).collect::<Vec<_>>().join("\n");
        if !head.contains("B batch, C channels, H height, W width, D features, Z latent") {
            failures.push(format!(
                "{name}: the shape legend is missing from the top of the file"
            ));
        }
        let module = match naga::front::wgsl::parse_str(&src) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!(
                    "{name}: parse error\n{}",
                    e.emit_to_string_with_path(&src, &path.to_string_lossy())
                ));
                continue;
            }
        };
        let mut validator = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        );
        if let Err(e) = validator.validate(&module) {
            failures.push(format!(
                "{name}: validation error\n{}",
                e.emit_to_string_with_path(&src, &path.to_string_lossy())
            ));
            continue;
        }
        if !src.contains("struct Params") {
            failures.push(format!(
                "{name}: parameters must arrive in a `struct Params` uniform"
            ));
        }
        if module.entry_points.is_empty() {
            failures.push(format!("{name}: no entry points"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
