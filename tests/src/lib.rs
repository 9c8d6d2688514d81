//! Support for tb-host's end-to-end tests (in `tests/`): the loopback
//! server, the real binary (and its peak memory), and the plugin
//! components they load.

pub mod auth_servers;
pub mod fixtures;
pub mod harness;
pub mod peak;
pub mod redis_server;
