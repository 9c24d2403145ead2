//! The domain stays pure because Cargo says so: its manifest may name only
//! crates that compute, never ones that do I/O.

/// Crates the domain may depend on: data, time, parsing and maths.
const PURE: [&str; 12] = [
    "serde",
    "serde_json",
    "chrono",
    "chrono-tz",
    "rrule",
    "thiserror",
    "toml",
    "yaml-rust2",
    "humantime",
    "sha2",
    "hex",
    "libm",
];

/// Optional, for the server's OpenAPI document only.
const DOCUMENTATION: [&str; 1] = ["utoipa"];

#[test]
fn the_domain_crate_depends_on_no_io_crate() {
    let manifest: toml::Table = toml::from_str(include_str!("../Cargo.toml")).expect("Cargo.toml parses");
    let dependencies = manifest["dependencies"].as_table().expect("a [dependencies] table");
    let impure: Vec<&String> = dependencies
        .keys()
        .filter(|name| !PURE.contains(&name.as_str()) && !DOCUMENTATION.contains(&name.as_str()))
        .collect();
    assert!(
        impure.is_empty(),
        "the domain crate must not depend on {impure:?}: move the code that needs them to the server"
    );
    assert!(dependencies.contains_key("serde"), "the dependency table was read");
}
