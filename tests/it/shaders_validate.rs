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

/// The RNG functions are copied into each shader that draws noise (every file
/// must stand alone); every copy must be the same text, so that one tested
/// copy (`rng_words_match_rust` in gpu_kernels.rs) vouches for all of them.
#[test]
fn rng_twins_are_identical_in_every_shader() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let sources: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    for name in ["pcg", "hash3", "rand_uniform", "rand_normal"] {
        let header = format!("fn {name}(");
        let copies: Vec<(&str, &str)> = sources
            .iter()
            .filter_map(|(file, src)| {
                let start = src.find(&header)?;
                let end = start + src[start..].find("\n}\n").expect("function end") + 3;
                Some((file.as_str(), &src[start..end]))
            })
            .collect();
        assert!(!copies.is_empty(), "no shader defines {name}");
        for (file, text) in &copies[1..] {
            assert_eq!(
                *text, copies[0].1,
                "{name} in {file} differs from {}",
                copies[0].0
            );
        }
    }
    let with_noise = sources
        .iter()
        .filter(|(_, s)| s.contains("fn hash3("))
        .count();
    assert!(
        with_noise >= 2,
        "gather.wgsl and reparam.wgsl both draw noise"
    );
}
