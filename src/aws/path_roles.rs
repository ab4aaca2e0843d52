//! \[engine\] `roles/` and `roles/<name>`: listing, reading, writing (create or partial
//! update) and deleting the roles that credentials are issued from (Vault's
//! `path_roles.go`). The account-set fields and `roles/<name>/accounts` are in
//! `path_role_accounts`.
//!
//! The role itself — its stored JSON, how a write merges into it, every validation rule
//! and message, the upgrade of legacy entries — lives in `role/`. This file only moves
//! roles between requests and storage: which fields a request names, the lock around
//! read-modify-write, the legacy `policy/<name>` upgrade on read and when it may be
//! persisted, and the help text. It makes no AWS call.
//!
//! Deliberate differences from the Go engine: writes have an existence check (create vs
//! update); a rejected write stores nothing (Go persists the legacy upgrade first); a
//! successful write also removes a leftover legacy entry; a field can be cleared by
//! writing it empty; the list is sorted and has no duplicates.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use serde_json::json;
use tokio::sync::RwLock;

use super::OPERATION_PREFIX_AWS;
use super::backend::AwsBackend;
use super::path_role_accounts;
use super::role::{CredentialType, Role, RoleUpdate};
use super::storage::{LEGACY_ROLE_PREFIX, ROLE_PREFIX};
use crate::framework::{
    Context, DisplayAttributes, FieldData, FieldSchema, FieldType, HandlerResult, Path,
    PathOperation, generic_name_with_at_regex,
};
use crate::logical::{Error, JsonMap, Operation, Response, Storage, StorageExt, SystemView};

/// Vault's `consts.ReplicationPerformanceSecondary`: bit 6 of the replication state.
const REPLICATION_PERFORMANCE_SECONDARY: u32 = 1 << 6;

/// Vault's `consts.ReplicationPerformanceStandby`: bit 14 of the replication state.
const REPLICATION_PERFORMANCE_STANDBY: u32 = 1 << 14;

/// The role paths' view of the mount's shared state: every role read-modify-write
/// serialises on [`AwsBackend::role_lock`] (the Go engine's `roleMutex`), which the
/// credential paths share, so an issuance never sees a role half-written. A tokio lock,
/// because it is held across storage calls. The credential paths read roles through
/// [`Roles::get`] so that they see legacy roles too.
#[derive(Clone)]
pub(crate) struct Roles {
    state: Arc<AwsBackend>,
}

impl Roles {
    /// The roles of the mount whose shared state is `state`.
    pub(crate) fn new(state: Arc<AwsBackend>) -> Self {
        Roles { state }
    }

    /// The mount's shared state.
    pub(crate) fn state(&self) -> &Arc<AwsBackend> {
        &self.state
    }

    fn lock(&self) -> &RwLock<()> {
        self.state.role_lock()
    }

    /// The role `name`: `role/<name>`, else the legacy `policy/<name>` upgraded, with the
    /// upgrade persisted where this node may write. `None` when neither exists.
    pub(crate) async fn get(&self, ctx: &Context, name: &str) -> Result<Option<Role>, Error> {
        {
            let _read = self.lock().read().await;
            let cache = self.state.role_cache();
            if let Some(role) = cache
                .get_or_load(name, || load_current(ctx.storage(), name))
                .await?
            {
                return Ok(Some(role));
            }
        }
        // Persisting an upgrade writes storage, so it takes the write lock; another
        // request may have upgraded or written the role in between, hence the second look.
        let _write = self.lock().write().await;
        if let Some(role) = load_current(ctx.storage(), name).await? {
            return Ok(Some(role));
        }
        let Some(role) = load_legacy(ctx.storage(), name).await? else {
            return Ok(None);
        };
        if may_persist_upgrade(ctx.system()).await {
            save(ctx.storage(), name, &role).await?;
            self.state.role_cache().put(name, role.clone());
            // Should this delete fail, the legacy entry stays behind harmlessly: `role/`
            // wins on every later read, and the next write or delete removes it.
            ctx.storage().delete(&legacy_key(name)).await?;
        }
        Ok(Some(role))
    }
}

/// The `roles/`, `roles/<name>` and `roles/<name>/accounts` paths, sharing `roles`.
pub(crate) fn paths(roles: Arc<Roles>) -> Vec<Path> {
    vec![
        list_path(Arc::clone(&roles)),
        path_role_accounts::path(Arc::clone(&roles)),
        role_path(roles),
    ]
}

fn list_path(roles: Arc<Roles>) -> Path {
    Path::new("roles/?")
        .display(operation_ids("roles"))
        .operation(Operation::List, with_roles(&roles, list_roles))
        .help(ROLES_LIST_HELP_SYNOPSIS, ROLES_LIST_HELP_DESCRIPTION)
}

fn role_path(roles: Arc<Roles>) -> Path {
    let path = Path::new(format!("roles/{}", generic_name_with_at_regex("name")))
        .display(operation_ids("role"))
        .operation(Operation::Read, with_roles(&roles, read_role))
        .operation(Operation::Create, with_roles(&roles, write_role))
        .operation(Operation::Update, with_roles(&roles, write_role))
        .operation(Operation::Delete, with_roles(&roles, delete_role))
        .existence_check(|ctx, _req, data| role_exists(ctx, data))
        .help(ROLES_HELP_SYNOPSIS, ROLES_HELP_DESCRIPTION);
    role_fields()
        .into_iter()
        .chain(path_role_accounts::role_fields())
        .fold(path, |path, (name, schema)| path.field(name, schema))
}

/// OpenAPI operation IDs `aws-<verb>-<suffix>`, as the Go engine names them.
pub(crate) fn operation_ids(suffix: &str) -> DisplayAttributes {
    DisplayAttributes {
        operation_prefix: OPERATION_PREFIX_AWS.to_string(),
        operation_suffix: suffix.to_string(),
        ..DisplayAttributes::default()
    }
}

/// A handler that also gets the shared role state.
pub(crate) fn with_roles<F, Fut>(roles: &Arc<Roles>, f: F) -> PathOperation
where
    F: Fn(Arc<Roles>, Context, FieldData) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    let roles = Arc::clone(roles);
    PathOperation::new(move |ctx, _req, data| f(Arc::clone(&roles), ctx, data))
}

async fn list_roles(roles: Arc<Roles>, ctx: Context, _data: FieldData) -> HandlerResult {
    let _read = roles.lock().read().await;
    let mut names: BTreeSet<String> = ctx.storage().list(ROLE_PREFIX).await?.into_iter().collect();
    names.extend(ctx.storage().list(LEGACY_ROLE_PREFIX).await?);
    if names.is_empty() {
        // As the Go SDK's ListResponse: no `keys` at all, which the host answers with 404.
        return Ok(Some(Response::with_data(JsonMap::new())));
    }
    Ok(Some(Response::list(names)))
}

async fn read_role(roles: Arc<Roles>, ctx: Context, data: FieldData) -> HandlerResult {
    let name = data.get_string("name")?;
    Ok(roles
        .get(&ctx, &name)
        .await?
        .map(|role| Response::with_data(role.to_response_data())))
}

async fn write_role(roles: Arc<Roles>, ctx: Context, data: FieldData) -> HandlerResult {
    let name = data.get_string("name")?;
    let update = role_update(&data)?;
    let storage = ctx.storage();
    let _write = roles.lock().write().await;
    let existing = match load_current(storage, &name).await? {
        Some(role) => Some(role),
        // Upgraded in memory only: it is stored below, merged, or not at all.
        None => load_legacy(storage, &name).await?,
    };
    let merged = match Role::merge(existing, &update) {
        Ok(merged) => merged,
        Err(problems) => return Ok(Some(Response::error(problems.to_string()))),
    };
    save(storage, &name, &merged.role).await?;
    roles.state.role_cache().put(&name, merged.role.clone());
    storage.delete(&legacy_key(&name)).await?;
    if merged.warnings.is_empty() {
        return Ok(None);
    }
    let mut resp = Response::default();
    for warning in merged.warnings {
        resp.add_warning(warning);
    }
    Ok(Some(resp))
}

/// Existing leases are not revoked: they keep what they were issued with (as in Vault).
async fn delete_role(roles: Arc<Roles>, ctx: Context, data: FieldData) -> HandlerResult {
    let name = data.get_string("name")?;
    let _write = roles.lock().write().await;
    // The legacy entry goes first: if the second delete fails, the newer definition is
    // what remains, never an older one resurrected by the upgrade on the next read.
    ctx.storage().delete(&legacy_key(&name)).await?;
    ctx.storage().delete(&role_key(&name)).await?;
    roles.state.role_cache().remove(&name);
    Ok(None)
}

/// A role exists when either its entry or a legacy entry is stored.
async fn role_exists(ctx: Context, data: FieldData) -> Result<bool, Error> {
    let name = data.get_string("name")?;
    let storage = ctx.storage();
    Ok(storage.get(&role_key(&name)).await?.is_some()
        || storage.get(&legacy_key(&name)).await?.is_some())
}

/// The fields the request names, and only those (`*_ok` getters ignore schema defaults).
fn role_update(data: &FieldData) -> Result<RoleUpdate, Error> {
    Ok(RoleUpdate {
        credential_type: data.get_string_ok("credential_type")?,
        role_arns: data.get_list_ok("role_arns")?,
        policy_arns: data.get_list_ok("policy_arns")?,
        policy_document: data.get_string_ok("policy_document")?,
        iam_groups: data.get_list_ok("iam_groups")?,
        iam_tags: data.get_kv_pairs_ok("iam_tags")?,
        session_tags: data.get_kv_pairs_ok("session_tags")?,
        external_id: data.get_string_ok("external_id")?,
        default_sts_ttl: data.get_duration_ok("default_sts_ttl")?,
        max_sts_ttl: data.get_duration_ok("max_sts_ttl")?,
        user_path: data.get_string_ok("user_path")?,
        permissions_boundary_arn: data.get_string_ok("permissions_boundary_arn")?,
        mfa_serial_number: data.get_string_ok("mfa_serial_number")?,
        ttl: data.get_duration_ok("ttl")?,
        max_ttl: data.get_duration_ok("max_ttl")?,
        wait_for_propagation: data.get_bool_ok("wait_for_propagation")?,
        session_name_template: data.get_string_ok("session_name_template")?,
        source_identity_template: data.get_string_ok("source_identity_template")?,
        session_tag_templates: data.get_kv_pairs_ok("session_tag_templates")?,
        transitive_tag_keys: data.get_list_ok("transitive_tag_keys")?,
        role_arn_template: data.get_string_ok("role_arn_template")?,
        allowed_accounts: data.get_list_ok("allowed_accounts")?,
        organization_accounts: data.get_bool_ok("organization_accounts")?,
        legacy_policy: data.get_string_ok("policy")?,
        legacy_arn: data.get_string_ok("arn")?,
    })
}

fn role_key(name: &str) -> String {
    format!("{ROLE_PREFIX}{name}")
}

fn legacy_key(name: &str) -> String {
    format!("{LEGACY_ROLE_PREFIX}{name}")
}

async fn load_current(storage: &dyn Storage, name: &str) -> Result<Option<Role>, Error> {
    storage.get_json(&role_key(name)).await
}

/// The legacy entry, upgraded in memory. Legacy values are raw strings, not JSON
/// documents of ours; bytes that are not UTF-8 end up in `invalid_data`, as in Go.
async fn load_legacy(storage: &dyn Storage, name: &str) -> Result<Option<Role>, Error> {
    Ok(storage
        .get(&legacy_key(name))
        .await?
        .map(|entry| Role::from_legacy(&String::from_utf8_lossy(&entry.value))))
}

async fn save(storage: &dyn Storage, name: &str, role: &Role) -> Result<(), Error> {
    storage.put_json(&role_key(name), role).await
}

/// Whether this node may write replicated storage. Performance standbys cannot write at
/// all, performance secondaries only to local mounts (Vault's condition, except that
/// Vault also tries on a standby's local mount and relies on the request being
/// forwarded). When the host cannot say, the upgrade is served without being stored; the
/// next read upgrades again.
async fn may_persist_upgrade(system: &dyn SystemView) -> bool {
    let state = match system.replication_state().await {
        Ok(state) => state,
        Err(e) => {
            tracing::warn!(error = %e, "reading the replication state; legacy role upgrade not persisted");
            return false;
        }
    };
    if state & REPLICATION_PERFORMANCE_STANDBY != 0 {
        return false;
    }
    if state & REPLICATION_PERFORMANCE_SECONDARY == 0 {
        return true;
    }
    match system.local_mount().await {
        Ok(local) => local,
        Err(e) => {
            tracing::warn!(error = %e, "reading whether the mount is local; legacy role upgrade not persisted");
            false
        }
    }
}

/// The fields of `roles/<name>`, with Vault's descriptions and UI labels.
fn role_fields() -> Vec<(&'static str, FieldSchema)> {
    use FieldType::{Bool, CommaStringSlice, DurationSecond, KvPairs, String as Str};
    let types = CredentialType::ALL.map(CredentialType::as_str);
    vec![
        ("name", field(Str, NAME_DESCRIPTION, "Role Name")),
        (
            "credential_type",
            FieldSchema::new(Str, CREDENTIAL_TYPE_DESCRIPTION).allowed_values(types),
        ),
        (
            "role_arns",
            field(CommaStringSlice, ROLE_ARNS_DESCRIPTION, "Role ARNs"),
        ),
        (
            "policy_arns",
            field(CommaStringSlice, POLICY_ARNS_DESCRIPTION, "Policy ARNs"),
        ),
        (
            "policy_document",
            policy_text(FieldSchema::new(Str, POLICY_DOCUMENT_DESCRIPTION)),
        ),
        (
            "iam_groups",
            sample(
                field(CommaStringSlice, IAM_GROUPS_DESCRIPTION, "IAM Groups"),
                "group1,group2",
            ),
        ),
        (
            "iam_tags",
            sample(field(KvPairs, IAM_TAGS_DESCRIPTION, "IAM Tags"), KV_SAMPLE)
                .max_items(AWS_MAX_TAGS),
        ),
        (
            "session_tags",
            sample(
                field(KvPairs, SESSION_TAGS_DESCRIPTION, "Session Tags"),
                KV_SAMPLE,
            )
            .max_items(AWS_MAX_TAGS),
        ),
        (
            "external_id",
            field(Str, EXTERNAL_ID_DESCRIPTION, "External ID"),
        ),
        (
            "default_sts_ttl",
            field(
                DurationSecond,
                DEFAULT_STS_TTL_DESCRIPTION,
                "Default STS TTL",
            ),
        ),
        (
            "max_sts_ttl",
            field(DurationSecond, MAX_STS_TTL_DESCRIPTION, "Max STS TTL"),
        ),
        (
            "user_path",
            sample(field(Str, USER_PATH_DESCRIPTION, "User Path"), "/").with_default("/"),
        ),
        (
            "permissions_boundary_arn",
            field(
                Str,
                PERMISSIONS_BOUNDARY_ARN_DESCRIPTION,
                "Permissions Boundary ARN",
            ),
        ),
        (
            "mfa_serial_number",
            field(
                Str,
                MFA_SERIAL_NUMBER_DESCRIPTION,
                "MFA Device Serial Number",
            ),
        ),
        ("ttl", field(DurationSecond, TTL_DESCRIPTION, "TTL")),
        (
            "max_ttl",
            field(DurationSecond, MAX_TTL_DESCRIPTION, "Max TTL"),
        ),
        (
            "wait_for_propagation",
            field(
                Bool,
                WAIT_FOR_PROPAGATION_DESCRIPTION,
                "Wait For Propagation",
            ),
        ),
        (
            "session_name_template",
            field(
                Str,
                SESSION_NAME_TEMPLATE_DESCRIPTION,
                "Session Name Template",
            ),
        ),
        (
            "source_identity_template",
            field(
                Str,
                SOURCE_IDENTITY_TEMPLATE_DESCRIPTION,
                "Source Identity Template",
            ),
        ),
        (
            "session_tag_templates",
            sample(
                field(
                    KvPairs,
                    SESSION_TAG_TEMPLATES_DESCRIPTION,
                    "Session Tag Templates",
                ),
                "[team={{ .EntityMetadata.team }}]",
            )
            .max_items(AWS_MAX_TAGS),
        ),
        (
            "transitive_tag_keys",
            field(
                CommaStringSlice,
                TRANSITIVE_TAG_KEYS_DESCRIPTION,
                "Transitive Tag Keys",
            )
            .max_items(AWS_MAX_TAGS),
        ),
        (
            "policy",
            policy_text(FieldSchema::new(Str, POLICY_DESCRIPTION).deprecated()),
        ),
        ("arn", FieldSchema::new(Str, ARN_DESCRIPTION).deprecated()),
    ]
}

/// A policy document may be pretty-printed JSON. 10,240 characters is five times AWS's
/// largest inline or session policy (2,048 without whitespace): room for indentation, and
/// still a 400 long before a megabyte reaches storage.
fn policy_text(schema: FieldSchema) -> FieldSchema {
    schema.multi_line().max_chars(POLICY_DOCUMENT_MAX_CHARS)
}

/// AWS allows 50 tags on an IAM user and 50 session tags on an AssumeRole call.
const AWS_MAX_TAGS: usize = 50;

/// See [`policy_text`].
pub const POLICY_DOCUMENT_MAX_CHARS: usize = 10_240;

pub(crate) fn field(field_type: FieldType, description: &str, label: &str) -> FieldSchema {
    FieldSchema::new(field_type, description).display(DisplayAttributes {
        name: label.to_string(),
        ..DisplayAttributes::default()
    })
}

/// Adds a sample value to a field's UI hints.
pub(crate) fn sample(mut schema: FieldSchema, value: &str) -> FieldSchema {
    let mut attrs = schema.display_attrs.take().unwrap_or_default();
    attrs.value = Some(json!(value));
    schema.display(attrs)
}

const KV_SAMPLE: &str = "[key1=value1, key2=value2]";

const NAME_DESCRIPTION: &str = "Name of the role";

const CREDENTIAL_TYPE_DESCRIPTION: &str = "Type of credential to retrieve. Must be one of assumed_role, iam_user, federation_token, or session_token";

const ROLE_ARNS_DESCRIPTION: &str =
    "ARNs of AWS roles allowed to be assumed. Only valid when credential_type is assumed_role";

const POLICY_ARNS_DESCRIPTION: &str =
    "ARNs of AWS policies. Behavior varies by credential_type. When credential_type is
iam_user, then it will attach the specified policies to the generated IAM user.
When credential_type is assumed_role or federation_token, the policies will be passed as the
PolicyArns parameter, acting as a filter on permissions available.";

const POLICY_DOCUMENT_DESCRIPTION: &str =
    "JSON-encoded IAM policy document. Behavior varies by credential_type. When credential_type is
iam_user, then it will attach the contents of the policy_document to the IAM
user generated. When credential_type is assumed_role or federation_token, this
will be passed in as the Policy parameter to the AssumeRole or
GetFederationToken API call, acting as a filter on permissions available.";

const IAM_GROUPS_DESCRIPTION: &str =
    "Names of IAM groups that generated IAM users will be added to. For a credential
type of assumed_role or federation_token, the policies sent to the
corresponding AWS call (sts:AssumeRole or sts:GetFederation) will be the
policies from each group in iam_groups combined with the policy_document
and policy_arns parameters.";

const IAM_TAGS_DESCRIPTION: &str =
    "IAM tags to be set for any users created by this role. These must be presented
as Key-Value pairs. This can be represented as a map or a list of equal sign
delimited key pairs.";

const SESSION_TAGS_DESCRIPTION: &str = "Session tags to be set for \"assumed_role\" creds created by this role. These must be presented
as Key-Value pairs. This can be represented as a map or a list of equal sign
delimited key pairs.";

const EXTERNAL_ID_DESCRIPTION: &str =
    "External ID to set when assuming the role; only valid when credential_type is assumed_role";

const DEFAULT_STS_TTL_DESCRIPTION: &str = "Default TTL for assumed_role, federation_token, and session_token credential types when no TTL is explicitly requested with the credentials";

const MAX_STS_TTL_DESCRIPTION: &str =
    "Max allowed TTL for assumed_role, federation_token, and session_token credential types";

const USER_PATH_DESCRIPTION: &str =
    "Path for IAM User. Only valid when credential_type is iam_user";

const PERMISSIONS_BOUNDARY_ARN_DESCRIPTION: &str = "ARN of an IAM policy to attach as a permissions boundary on IAM user credentials; only valid when credential_type is iam_user";

const MFA_SERIAL_NUMBER_DESCRIPTION: &str = "Identification number or ARN of the MFA device associated with the root config user. Only valid
when credential_type is session_token. This is only required when the IAM user has an MFA device configured.";

const TTL_DESCRIPTION: &str = "Lease TTL of iam_user credentials created by this role, instead of the lease in config/lease. Only valid when credential_type is iam_user";

const MAX_TTL_DESCRIPTION: &str = "Maximum lease TTL of iam_user credentials created by this role, instead of the lease_max in config/lease. Only valid when credential_type is iam_user";

const WAIT_FOR_PROPAGATION_DESCRIPTION: &str = "Return iam_user credentials only once AWS accepts the new access key, instead of as soon as it is created. Only valid when credential_type is iam_user";

const SESSION_NAME_TEMPLATE_DESCRIPTION: &str = "Template of the session name (AssumeRole RoleSessionName, or the GetFederationToken Name), rendered from the requesting identity with the username_template language. Fields: .EntityName, .EntityID, .EntityMetadata.<key>, .AliasName, .AliasMetadata.<key>, .Aliases.<mount_accessor>, .Groups, .DisplayName, .RoleName, .PolicyName, .Type. Characters outside [\\w+=,.@-] become _, the result is cut to 64 (32 for federation_token) characters. When unset the name comes from username_template in config/root. Only valid when credential_type is assumed_role or federation_token";

const SOURCE_IDENTITY_TEMPLATE_DESCRIPTION: &str = "Template of the AssumeRole SourceIdentity, rendered like session_name_template and fitted the same way (2 to 64 characters). Not sent when it renders empty. Only valid when credential_type is assumed_role";

const SESSION_TAG_TEMPLATES_DESCRIPTION: &str = "Session tags whose values are templates rendered like session_name_template, added to session_tags (a key may be in only one of them). Values are cut to 256 characters; a tag whose value renders empty is not sent. Only valid when credential_type is assumed_role";

const TRANSITIVE_TAG_KEYS_DESCRIPTION: &str = "Keys of session_tags or session_tag_templates to pass as TransitiveTagKeys, so that they persist through role chaining. Only valid when credential_type is assumed_role";

const POLICY_DESCRIPTION: &str = "Use policy_document instead.";

const ARN_DESCRIPTION: &str = "Use role_arns or policy_arns instead.";

const ROLES_LIST_HELP_SYNOPSIS: &str = "List the existing roles in this backend";

const ROLES_LIST_HELP_DESCRIPTION: &str = "Roles will be listed by the role name.";

const ROLES_HELP_SYNOPSIS: &str =
    "Read, write and reference IAM policies that access keys can be made for.";

const ROLES_HELP_DESCRIPTION: &str = "
This path allows you to read and write roles that are used to
create access keys. These roles are associated with IAM policies that
map directly to the route to read the access keys. For example, if the
backend is mounted at \"aws\" and you create a role at \"aws/roles/deploy\"
then a user could request access credentials at \"aws/creds/deploy\".

The credential_type decides what is issued: an IAM user (iam_user), or
temporary credentials from STS (assumed_role, federation_token,
session_token). Permissions come from policy_arns, an inline
policy_document and iam_groups. Inline policies written are normal IAM
policies. Vault will not attempt to parse these except to validate that
they're basic JSON. No validation is performed on ARN references.

A write changes only the parameters it names; writing a parameter with an
empty value clears it. Deleting a role does not revoke credentials already
issued from it.

To validate the keys, attempt to read an access key after writing the policy.
";
