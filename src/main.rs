//! The `vault-plugin-secrets-aws-rs` binary: the composition root and nothing else.
//!
//! Vault or OpenBao launches it as an external secrets plugin. It installs logging (hclog
//! JSON on stderr), hands the AWS engine's factory to the go-plugin transport, and exits
//! with the code the transport returns: 0 after the host's Shutdown or SIGTERM, 1 when it
//! was not launched by a host (the magic cookie check) or could not serve. This is the
//! only file that names both `plugin` and `aws`.

use std::process::ExitCode;

use vault_plugin_secrets_aws_rs::{aws, plugin};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    plugin::logging::init();
    plugin::serve(aws::factory())
}
