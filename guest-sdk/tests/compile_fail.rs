//! Mistakes a plugin author makes that must fail to compile, each with an
//! error that says what to do (`tests/compile-fail/*.stderr` holds it).
//! `TRYBUILD=overwrite cargo test -p guest-sdk --test compile_fail`
//! rewrites those files after a deliberate change of message.

#[test]
fn a_plugin_without_the_attribute_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile-fail/missing_attribute.rs");
}
