//! \[engine\] `config/root`: the credentials the engine calls AWS with and the client
//! settings (Vault's `path_config_root.go`): read, create and update, with an existence
//! check so that the first write is a create.
//!
//! A create starts from the defaults; an update changes only the fields the request
//! names. Unlike Vault, that includes `username_template`, which Vault resets to its
//! default whenever a write omits it; naming it with an empty value resets it here. The
//! secret key is never returned. A write is refused as a whole (400) when the fallback
//! lists differ in length, only half a key pair is set, the template does not parse, or
//! `max_retries` is outside -1..=50 (each retry may wait 20 s); a field beyond its input
//! limits (length, control characters) is refused by the framework before this runs.
//! After a successful write the mount's cached AWS clients are dropped, so the next
//! call uses the new settings. The stored entry is seal-wrapped (declared in `mod.rs`).

use std::sync::Arc;

use serde_json::Value;

use super::OPERATION_PREFIX_AWS;
use super::backend::AwsBackend;
use super::root_config::{self, RootConfig};
use super::username::DEFAULT_USERNAME_TEMPLATE;
use crate::framework::{
    Context, DisplayAttributes, FieldData, FieldSchema, FieldType, HandlerResult, Path,
    PathOperation, format_errors,
};
use crate::logical::{Error, JsonMap, Operation, Request, Response};

/// The `config/root` path, its handlers sharing `backend`.
pub(crate) fn path(backend: Arc<AwsBackend>) -> Path {
    let write = move |ctx: Context, req: Request, data: FieldData| {
        let backend = Arc::clone(&backend);
        async move { write_config(&backend, ctx, req, data).await }
    };
    Path::new("config/root")
        .display(DisplayAttributes::operation_prefix(OPERATION_PREFIX_AWS))
        .field(
            "access_key",
            string("Access key with permission to create new keys."),
        )
        .field(
            "secret_key",
            string("Secret key with permission to create new keys.").display(DisplayAttributes {
                sensitive: true,
                ..DisplayAttributes::default()
            }),
        )
        .field("region", string("Region for API calls."))
        .field("iam_endpoint", string("Endpoint to custom IAM server URL"))
        .field("sts_endpoint", string("Endpoint to custom STS server URL"))
        .field("sts_region", string("Specific region for STS API calls."))
        .field(
            "sts_fallback_endpoints",
            FieldSchema::new(
                FieldType::CommaStringSlice,
                "Fallback endpoints if sts_endpoint is unreachable",
            ),
        )
        .field(
            "sts_fallback_regions",
            FieldSchema::new(
                FieldType::CommaStringSlice,
                "Fallback regions if sts_region is unreachable",
            ),
        )
        .field(
            "max_retries",
            FieldSchema::new(
                FieldType::Int,
                "Maximum number of retries for recoverable exceptions of AWS APIs",
            )
            .with_default(root_config::DEFAULT_MAX_RETRIES),
        )
        .field(
            "username_template",
            // Go templates are often written over several lines with `{{-` trimming.
            string("Template to generate custom IAM usernames").multi_line(),
        )
        .existence_check(config_exists)
        .operation(
            Operation::Read,
            PathOperation::new(read_config).display(DisplayAttributes::operation(
                "",
                "root-iam-credentials-configuration",
            )),
        )
        .operation(
            Operation::Create,
            PathOperation::new(write.clone()).display(DisplayAttributes::operation(
                "configure",
                "root-iam-credentials",
            )),
        )
        .operation(
            Operation::Update,
            PathOperation::new(write).display(DisplayAttributes::operation(
                "configure",
                "root-iam-credentials",
            )),
        )
        .help(CONFIG_ROOT_HELP_SYNOPSIS, CONFIG_ROOT_HELP_DESCRIPTION)
}

fn string(description: &str) -> FieldSchema {
    FieldSchema::new(FieldType::String, description)
}

async fn config_exists(ctx: Context, _req: Request, _data: FieldData) -> Result<bool, Error> {
    Ok(root_config::load(ctx.storage()).await?.is_some())
}

async fn read_config(ctx: Context, _req: Request, _data: FieldData) -> HandlerResult {
    let Some(config) = root_config::load(ctx.storage()).await? else {
        return Ok(None);
    };
    Ok(Some(Response::with_data(response_data(&config))))
}

/// Every setting except the secret key.
fn response_data(config: &RootConfig) -> JsonMap {
    let list = |items: &[String]| Value::from(items.to_vec());
    let mut data = JsonMap::new();
    data.insert("access_key".into(), config.access_key.clone().into());
    data.insert("region".into(), config.region.clone().into());
    data.insert("iam_endpoint".into(), config.iam_endpoint.clone().into());
    data.insert("sts_endpoint".into(), config.sts_endpoint.clone().into());
    data.insert("sts_region".into(), config.sts_region.clone().into());
    data.insert(
        "sts_fallback_endpoints".into(),
        list(&config.sts_fallback_endpoints),
    );
    data.insert(
        "sts_fallback_regions".into(),
        list(&config.sts_fallback_regions),
    );
    data.insert("max_retries".into(), config.max_retries.into());
    data.insert(
        "username_template".into(),
        config.username_template().to_string().into(),
    );
    data
}

async fn write_config(
    backend: &AwsBackend,
    ctx: Context,
    _req: Request,
    data: FieldData,
) -> HandlerResult {
    // Held until the clients are dropped, so a concurrent partial update cannot start
    // from the entry this one is replacing.
    let _writing = backend.config_lock().lock().await;
    // Create vs update was decided by the existence check before the lock was taken; a
    // concurrent first write may have stored an entry since, so always start from what is
    // stored now (the defaults when nothing is).
    let mut config = root_config::load(ctx.storage()).await?.unwrap_or_default();
    apply(&mut config, &data)?;
    let problems = config.problems();
    match problems.as_slice() {
        [] => {}
        [only] => return Ok(Some(Response::error(only.clone()))),
        many => return Ok(Some(Response::error(format_errors(many)))),
    }
    root_config::save(ctx.storage(), &config).await?;
    // Only after the entry is stored: a request building clients meanwhile either reads
    // the new entry or has its clients discarded by this clear.
    backend.clear_clients();
    Ok(None)
}

/// The most retries `config/root` accepts.
pub const MAX_RETRIES_LIMIT: i64 = 50;

/// Sets the fields the request names.
fn apply(config: &mut RootConfig, data: &FieldData) -> Result<(), Error> {
    let strings: [(&str, &mut String); 6] = [
        ("access_key", &mut config.access_key),
        ("secret_key", &mut config.secret_key),
        ("region", &mut config.region),
        ("iam_endpoint", &mut config.iam_endpoint),
        ("sts_endpoint", &mut config.sts_endpoint),
        ("sts_region", &mut config.sts_region),
    ];
    for (name, slot) in strings {
        if let Some(value) = data.get_string_ok(name)? {
            *slot = value;
        }
    }
    if let Some(list) = data.get_list_ok("sts_fallback_endpoints")? {
        config.sts_fallback_endpoints = list;
    }
    if let Some(list) = data.get_list_ok("sts_fallback_regions")? {
        config.sts_fallback_regions = list;
    }
    if let Some(n) = data.get_int_ok("max_retries")? {
        // Each retry can wait up to 20 s of SDK back-off: beyond a few dozen a request
        // would hang for hours. Vault takes any integer; a stored larger value still loads.
        // A 400: `Error::User` from a request handler is a 500 at the host.
        if !(-1..=MAX_RETRIES_LIMIT).contains(&n) {
            return Err(Error::BadRequest(format!(
                "max_retries must be -1 (the AWS SDK's default) or between 0 and {MAX_RETRIES_LIMIT}, not {n}"
            )));
        }
        config.max_retries = n;
    }
    if let Some(template) = data.get_string_ok("username_template")? {
        config.username_template = if template.is_empty() {
            DEFAULT_USERNAME_TEMPLATE.to_string()
        } else {
            template
        };
    }
    Ok(())
}

const CONFIG_ROOT_HELP_SYNOPSIS: &str =
    "Configure the root credentials that are used to manage IAM.";

const CONFIG_ROOT_HELP_DESCRIPTION: &str = "
Before doing anything, the AWS backend needs credentials that are able
to manage IAM policies, users, access keys, etc. This endpoint is used
to configure those credentials. They don't necessarily need to be root
keys as long as they have permission to manage IAM.

Without access_key and secret_key the AWS default credential chain is
used (environment, shared profile, web identity, ECS or instance
metadata). The first write sets every field, using the defaults for
those it omits; later writes change only the fields they name. The
secret key is never returned.
";

#[cfg(test)]
mod tests;
