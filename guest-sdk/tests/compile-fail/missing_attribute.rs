//! A plugin whose `impl Plugin` block lacks `#[guest_sdk::plugin]`: it must
//! not compile, and the error must name the missing attribute.

use guest_sdk::{Plugin, Request};

#[derive(Default)]
struct Forgotten;

impl Plugin for Forgotten {
    fn authorize(&mut self, request: &mut Request) -> Result<(), String> {
        request.set_header("X-Forgotten", "yes")
    }
}

fn main() {}
