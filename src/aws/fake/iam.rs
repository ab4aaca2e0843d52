//! \[engine\] Test support: [`FakeIam`], a recording IAM that models one account the way
//! AWS behaves for the calls the engine makes: groups with inline and attached policies,
//! users with everything that can hang off them (keys, login profile, MFA devices, SSH
//! keys, signing certificates, service-specific credentials, policies, groups, tags),
//! account-level virtual MFA devices, and the rules that matter for leaks — DeleteUser
//! is refused with `DeleteConflict` while anything is still attached, a missing entity
//! is `NoSuchEntity`, a user holds at most two access keys. Failures can be queued per
//! operation, and every call is recorded with its inputs, failed ones included.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::{Script, lock, no_such_entity};
use crate::aws::api::{
    ActionDecision, AttachedPolicy, CreateUserInput, IamAccessKey, IamApi, IamUser, SimulationInput,
};
use crate::aws::error::{AwsOperation as Op, Error, ServiceFailure};

use super::FAKE_ACCOUNT;

/// The user a call without a user name acts on (the root credentials' own user).
pub const CALLER: &str = "vault-root";

/// One call a [`FakeIam`] received, with its inputs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum IamCall {
    /// ListGroupPolicies of a group.
    ListGroupPolicies(String),
    /// GetGroupPolicy: group and policy name.
    GetGroupPolicy(String, String),
    /// ListAttachedGroupPolicies of a group.
    ListAttachedGroupPolicies(String),
    /// CreateUser: name, path, permissions boundary.
    CreateUser(String, String, Option<String>),
    /// AttachUserPolicy: user, policy ARN.
    AttachUserPolicy(String, String),
    /// PutUserPolicy: user, policy name, document.
    PutUserPolicy(String, String, String),
    /// AddUserToGroup: user, group.
    AddUserToGroup(String, String),
    /// TagUser: user, tags.
    TagUser(String, BTreeMap<String, String>),
    /// CreateAccessKey: user (`None` for the caller).
    CreateAccessKey(Option<String>),
    /// GetUser: user (`None` for the caller).
    GetUser(Option<String>),
    /// ListAccessKeys of a user.
    ListAccessKeys(String),
    /// DeleteAccessKey: user (`None` for the caller), key ID.
    DeleteAccessKey(Option<String>, String),
    /// DeleteLoginProfile of a user.
    DeleteLoginProfile(String),
    /// ListMFADevices of a user.
    ListMfaDevices(String),
    /// DeactivateMFADevice: user, serial.
    DeactivateMfaDevice(String, String),
    /// DeleteVirtualMFADevice: serial.
    DeleteVirtualMfaDevice(String),
    /// ListSSHPublicKeys of a user.
    ListSshPublicKeys(String),
    /// DeleteSSHPublicKey: user, key ID.
    DeleteSshPublicKey(String, String),
    /// ListSigningCertificates of a user.
    ListSigningCertificates(String),
    /// DeleteSigningCertificate: user, certificate ID.
    DeleteSigningCertificate(String, String),
    /// ListServiceSpecificCredentials of a user.
    ListServiceSpecificCredentials(String),
    /// DeleteServiceSpecificCredential: user, credential ID.
    DeleteServiceSpecificCredential(String, String),
    /// ListUserPolicies of a user.
    ListUserPolicies(String),
    /// DeleteUserPolicy: user, policy name.
    DeleteUserPolicy(String, String),
    /// ListAttachedUserPolicies of a user.
    ListAttachedUserPolicies(String),
    /// DetachUserPolicy: user, policy ARN.
    DetachUserPolicy(String, String),
    /// ListGroupsForUser of a user.
    ListGroupsForUser(String),
    /// RemoveUserFromGroup: user, group.
    RemoveUserFromGroup(String, String),
    /// DeleteUser of a user.
    DeleteUser(String),
    /// SimulatePrincipalPolicy: principal ARN, actions, resource ARNs.
    SimulatePrincipalPolicy(String, Vec<String>, Vec<String>),
}

impl IamCall {
    /// Whether the call changes the account (everything but Get and List calls).
    pub fn is_write(&self) -> bool {
        !matches!(
            self,
            IamCall::ListGroupPolicies(_)
                | IamCall::GetGroupPolicy(..)
                | IamCall::ListAttachedGroupPolicies(_)
                | IamCall::GetUser(_)
                | IamCall::ListAccessKeys(_)
                | IamCall::ListMfaDevices(_)
                | IamCall::ListSshPublicKeys(_)
                | IamCall::ListSigningCertificates(_)
                | IamCall::ListServiceSpecificCredentials(_)
                | IamCall::ListUserPolicies(_)
                | IamCall::ListAttachedUserPolicies(_)
                | IamCall::ListGroupsForUser(_)
                | IamCall::SimulatePrincipalPolicy(..)
        )
    }
}

#[derive(Default)]
struct FakeGroup {
    inline: BTreeMap<String, String>,
    attached: Vec<AttachedPolicy>,
}

/// An IAM user as the fake holds it; tests read and change it through
/// [`FakeIam::user`] and [`FakeIam::update_user`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeUser {
    /// IAM path.
    pub path: String,
    /// Permissions boundary ARN.
    pub permissions_boundary: Option<String>,
    /// Inline policies by name.
    pub inline_policies: BTreeMap<String, String>,
    /// Attached managed policy ARNs.
    pub attached_policies: BTreeSet<String>,
    /// Groups the user is in.
    pub groups: BTreeSet<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Access key IDs.
    pub access_keys: BTreeSet<String>,
    /// Whether the user has a console password.
    pub login_profile: bool,
    /// Serial numbers of the user's MFA devices.
    pub mfa_devices: BTreeSet<String>,
    /// SSH public key IDs.
    pub ssh_public_keys: BTreeSet<String>,
    /// Signing certificate IDs.
    pub signing_certificates: BTreeSet<String>,
    /// Service-specific credential IDs.
    pub service_specific_credentials: BTreeSet<String>,
}

impl FakeUser {
    /// What AWS would name in a `DeleteConflict`, if anything is still attached.
    fn conflict(&self) -> Option<&'static str> {
        let parts = [
            (!self.access_keys.is_empty(), "access keys"),
            (self.login_profile, "login profile"),
            (!self.mfa_devices.is_empty(), "MFA devices"),
            (!self.ssh_public_keys.is_empty(), "SSH public keys"),
            (
                !self.signing_certificates.is_empty(),
                "signing certificates",
            ),
            (
                !self.service_specific_credentials.is_empty(),
                "service-specific credentials",
            ),
            (!self.inline_policies.is_empty(), "policies"),
            (!self.attached_policies.is_empty(), "attached policies"),
            (!self.groups.is_empty(), "group memberships"),
        ];
        parts.into_iter().find(|(present, _)| *present).map(|p| p.1)
    }
}

#[derive(Default)]
struct Account {
    groups: BTreeMap<String, FakeGroup>,
    users: BTreeMap<String, FakeUser>,
    virtual_mfa_devices: BTreeSet<String>,
    missing_policies: BTreeSet<String>,
    secrets: BTreeMap<String, String>,
    /// Actions SimulatePrincipalPolicy answers as denied; every other one is allowed.
    denied_actions: BTreeSet<String>,
}

type CallHook = std::sync::Arc<dyn Fn(&IamCall) + Send + Sync>;

/// A recording IAM modelling one account; see the module comment.
#[derive(Default)]
pub struct FakeIam {
    account: Mutex<Account>,
    calls: Mutex<Vec<IamCall>>,
    script: Script,
    ids: AtomicU64,
    on_call: Mutex<Option<CallHook>>,
}

fn user_of(name: Option<&str>) -> String {
    name.unwrap_or(CALLER).to_string()
}

impl FakeIam {
    /// A fake with no groups and no users.
    pub fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(FakeIam::default())
    }

    /// Creates `group` (without policies) if it does not exist.
    pub fn add_group(&self, group: &str) {
        lock(&self.account)
            .groups
            .entry(group.to_string())
            .or_default();
    }

    /// Puts an inline policy `name` with `document` on `group`, creating the group.
    pub fn put_group_policy(&self, group: &str, name: &str, document: &str) {
        lock(&self.account)
            .groups
            .entry(group.to_string())
            .or_default()
            .inline
            .insert(name.to_string(), document.to_string());
    }

    /// Attaches the managed policy `arn` to `group`, creating the group.
    pub fn attach_group_policy(&self, group: &str, arn: &str) {
        let name = arn.rsplit('/').next().unwrap_or(arn).to_string();
        lock(&self.account)
            .groups
            .entry(group.to_string())
            .or_default()
            .attached
            .push(AttachedPolicy {
                name,
                arn: arn.to_string(),
            });
    }

    /// Makes the managed policy `arn` unknown: attaching it is `NoSuchEntity`.
    pub fn forget_policy(&self, arn: &str) {
        lock(&self.account).missing_policies.insert(arn.to_string());
    }

    /// Creates the user `name` as it is (for the caller's own user, or a user that
    /// exists before a test).
    pub fn insert_user(&self, name: &str, user: FakeUser) {
        lock(&self.account).users.insert(name.to_string(), user);
    }

    /// Removes the user `name` and nothing else, as if AWS had not (yet) shown it.
    pub fn remove_user(&self, name: &str) -> Option<FakeUser> {
        lock(&self.account).users.remove(name)
    }

    /// The user `name`, if it exists.
    pub fn user(&self, name: &str) -> Option<FakeUser> {
        lock(&self.account).users.get(name).cloned()
    }

    /// Changes the user `name` (as its holder could); panics if it does not exist.
    pub fn update_user(&self, name: &str, change: impl FnOnce(&mut FakeUser)) {
        let mut account = lock(&self.account);
        let user = account
            .users
            .get_mut(name)
            .unwrap_or_else(|| panic!("no fake IAM user {name}"));
        change(user);
    }

    /// Creates a virtual MFA device `serial` and enables it for the user `name`.
    pub fn enable_virtual_mfa(&self, name: &str, serial: &str) {
        lock(&self.account)
            .virtual_mfa_devices
            .insert(serial.to_string());
        self.update_user(name, |u| {
            u.mfa_devices.insert(serial.to_string());
        });
    }

    /// The names of every user, sorted.
    pub fn user_names(&self) -> Vec<String> {
        lock(&self.account).users.keys().cloned().collect()
    }

    /// The serial numbers of every virtual MFA device in the account.
    pub fn virtual_mfa_devices(&self) -> Vec<String> {
        lock(&self.account)
            .virtual_mfa_devices
            .iter()
            .cloned()
            .collect()
    }

    /// The secret of the access key `id`, while the key exists.
    pub fn secret_of(&self, id: &str) -> Option<String> {
        lock(&self.account).secrets.get(id).cloned()
    }

    /// Makes SimulatePrincipalPolicy answer `action` (`iam:CreateUser`) as denied, for
    /// every principal and resource; every action not named so is allowed.
    pub fn deny_action(&self, action: &str) {
        lock(&self.account)
            .denied_actions
            .insert(action.to_string());
    }

    /// The next call of `op` fails with `err`.
    pub fn fail_next(&self, op: Op, err: Error) {
        self.script.push(op, err);
    }

    /// Every call so far, in order (failed ones included).
    pub fn calls(&self) -> Vec<IamCall> {
        lock(&self.calls).clone()
    }

    /// Forgets the recorded calls.
    pub fn clear_calls(&self) {
        lock(&self.calls).clear();
    }

    /// Runs `hook` on every call as it arrives, before it is answered (to look at what
    /// the engine had stored by then, or to change the account under its feet).
    pub fn on_call(&self, hook: impl Fn(&IamCall) + Send + Sync + 'static) {
        *lock(&self.on_call) = Some(std::sync::Arc::new(hook));
    }

    /// A fresh ID with `prefix` (`AKIA`, `APKA`, …), unique within this fake.
    pub fn next_id(&self, prefix: &str) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{prefix}FAKE{n:012}")
    }

    fn record(&self, call: IamCall, op: Op) -> Result<(), Error> {
        let hook = lock(&self.on_call).clone();
        if let Some(hook) = hook {
            hook(&call);
        }
        lock(&self.calls).push(call);
        self.script.next(op)
    }

    /// Runs `f` on the user `name`, or answers `NoSuchEntity` as AWS does.
    fn with_user<T>(
        &self,
        op: Op,
        name: &str,
        f: impl FnOnce(&mut FakeUser) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut account = lock(&self.account);
        let user = account
            .users
            .get_mut(name)
            .ok_or_else(|| no_such_entity(op, &format!("user with name {name}")))?;
        f(user)
    }

    /// Removes `item` from one of the user's sets, or answers `NoSuchEntity`.
    fn remove_from(
        &self,
        op: Op,
        name: &str,
        what: &str,
        item: &str,
        set: impl FnOnce(&mut FakeUser) -> &mut BTreeSet<String>,
    ) -> Result<(), Error> {
        self.with_user(op, name, |u| {
            if set(u).remove(item) {
                Ok(())
            } else {
                Err(no_such_entity(op, &format!("{what} {item}")))
            }
        })
    }

    fn group_read<T>(
        &self,
        op: Op,
        group: &str,
        f: impl FnOnce(&FakeGroup) -> T,
    ) -> Result<T, Error> {
        let account = lock(&self.account);
        let group = account
            .groups
            .get(group)
            .ok_or_else(|| no_such_entity(op, &format!("group with name {group}")))?;
        Ok(f(group))
    }
}

fn conflict(op: Op, what: &str) -> Error {
    Error::Rejected(ServiceFailure::new(
        op,
        409,
        "DeleteConflict",
        &format!("Cannot delete entity, must remove {what} first."),
    ))
}

#[async_trait]
impl IamApi for FakeIam {
    async fn list_group_policies(&self, group_name: &str) -> Result<Vec<String>, Error> {
        let op = Op::ListGroupPolicies;
        self.record(IamCall::ListGroupPolicies(group_name.to_string()), op)?;
        self.group_read(op, group_name, |g| g.inline.keys().cloned().collect())
    }

    async fn get_group_policy(&self, group_name: &str, policy_name: &str) -> Result<String, Error> {
        let op = Op::GetGroupPolicy;
        let call = IamCall::GetGroupPolicy(group_name.to_string(), policy_name.to_string());
        self.record(call, op)?;
        self.group_read(op, group_name, |g| g.inline.get(policy_name).cloned())?
            .ok_or_else(|| no_such_entity(op, &format!("group policy with name {policy_name}")))
    }

    async fn list_attached_group_policies(
        &self,
        group_name: &str,
    ) -> Result<Vec<AttachedPolicy>, Error> {
        let op = Op::ListAttachedGroupPolicies;
        self.record(
            IamCall::ListAttachedGroupPolicies(group_name.to_string()),
            op,
        )?;
        self.group_read(op, group_name, |g| g.attached.clone())
    }

    async fn create_user(&self, input: &CreateUserInput) -> Result<(), Error> {
        let op = Op::CreateUser;
        let call = IamCall::CreateUser(
            input.user_name.clone(),
            input.path.clone(),
            input.permissions_boundary.clone(),
        );
        self.record(call, op)?;
        let mut account = lock(&self.account);
        if account.users.contains_key(&input.user_name) {
            return Err(Error::Rejected(ServiceFailure::new(
                op,
                409,
                "EntityAlreadyExists",
                &format!("User with name {} already exists.", input.user_name),
            )));
        }
        let user = FakeUser {
            path: input.path.clone(),
            permissions_boundary: input.permissions_boundary.clone(),
            ..FakeUser::default()
        };
        account.users.insert(input.user_name.clone(), user);
        Ok(())
    }

    async fn attach_user_policy(&self, user_name: &str, policy_arn: &str) -> Result<(), Error> {
        let op = Op::AttachUserPolicy;
        let call = IamCall::AttachUserPolicy(user_name.to_string(), policy_arn.to_string());
        self.record(call, op)?;
        if lock(&self.account).missing_policies.contains(policy_arn) {
            return Err(no_such_entity(
                op,
                &format!("policy {policy_arn} (does not exist or is not attachable)"),
            ));
        }
        self.with_user(op, user_name, |u| {
            u.attached_policies.insert(policy_arn.to_string());
            Ok(())
        })
    }

    async fn put_user_policy(
        &self,
        user_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), Error> {
        let op = Op::PutUserPolicy;
        let call = IamCall::PutUserPolicy(
            user_name.to_string(),
            policy_name.to_string(),
            document.to_string(),
        );
        self.record(call, op)?;
        self.with_user(op, user_name, |u| {
            u.inline_policies
                .insert(policy_name.to_string(), document.to_string());
            Ok(())
        })
    }

    async fn add_user_to_group(&self, user_name: &str, group_name: &str) -> Result<(), Error> {
        let op = Op::AddUserToGroup;
        let call = IamCall::AddUserToGroup(user_name.to_string(), group_name.to_string());
        self.record(call, op)?;
        self.group_read(op, group_name, |_| ())?;
        self.with_user(op, user_name, |u| {
            u.groups.insert(group_name.to_string());
            Ok(())
        })
    }

    async fn tag_user(
        &self,
        user_name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let op = Op::TagUser;
        self.record(IamCall::TagUser(user_name.to_string(), tags.clone()), op)?;
        self.with_user(op, user_name, |u| {
            u.tags.extend(tags.clone());
            Ok(())
        })
    }

    async fn create_access_key(&self, user_name: Option<&str>) -> Result<IamAccessKey, Error> {
        let op = Op::CreateAccessKey;
        self.record(IamCall::CreateAccessKey(user_name.map(str::to_string)), op)?;
        let name = user_of(user_name);
        let id = self.next_id("AKIA");
        let secret = format!("fake-iam-secret-{id}");
        self.with_user(op, &name, |u| {
            if u.access_keys.len() >= 2 {
                return Err(Error::Rejected(ServiceFailure::new(
                    op,
                    409,
                    "LimitExceeded",
                    "Cannot exceed quota for AccessKeysPerUser: 2",
                )));
            }
            u.access_keys.insert(id.clone());
            Ok(())
        })?;
        lock(&self.account)
            .secrets
            .insert(id.clone(), secret.clone());
        Ok(IamAccessKey {
            access_key_id: id,
            secret_access_key: secret,
        })
    }

    async fn get_user(&self, user_name: Option<&str>) -> Result<IamUser, Error> {
        let op = Op::GetUser;
        self.record(IamCall::GetUser(user_name.map(str::to_string)), op)?;
        let name = user_of(user_name);
        self.with_user(op, &name, |u| {
            Ok(IamUser {
                user_name: name.clone(),
                arn: format!("arn:aws:iam::{FAKE_ACCOUNT}:user{}{name}", u.path),
                user_id: format!("AIDAFAKE{}", name.len()),
                path: u.path.clone(),
            })
        })
    }

    async fn list_access_keys(&self, user_name: &str) -> Result<Vec<String>, Error> {
        let op = Op::ListAccessKeys;
        self.record(IamCall::ListAccessKeys(user_name.to_string()), op)?;
        self.with_user(op, user_name, |u| {
            Ok(u.access_keys.iter().cloned().collect())
        })
    }

    async fn delete_access_key(
        &self,
        user_name: Option<&str>,
        access_key_id: &str,
    ) -> Result<(), Error> {
        let op = Op::DeleteAccessKey;
        let call = IamCall::DeleteAccessKey(user_name.map(str::to_string), access_key_id.into());
        self.record(call, op)?;
        let name = user_of(user_name);
        self.remove_from(op, &name, "access key", access_key_id, |u| {
            &mut u.access_keys
        })?;
        lock(&self.account).secrets.remove(access_key_id);
        Ok(())
    }

    async fn delete_login_profile(&self, user_name: &str) -> Result<(), Error> {
        let op = Op::DeleteLoginProfile;
        self.record(IamCall::DeleteLoginProfile(user_name.to_string()), op)?;
        self.with_user(op, user_name, |u| {
            if std::mem::take(&mut u.login_profile) {
                Ok(())
            } else {
                Err(no_such_entity(
                    op,
                    &format!("Login Profile for User {user_name}"),
                ))
            }
        })
    }

    async fn list_mfa_devices(&self, user_name: &str) -> Result<Vec<String>, Error> {
        let op = Op::ListMfaDevices;
        self.record(IamCall::ListMfaDevices(user_name.to_string()), op)?;
        self.with_user(op, user_name, |u| {
            Ok(u.mfa_devices.iter().cloned().collect())
        })
    }

    async fn deactivate_mfa_device(
        &self,
        user_name: &str,
        serial_number: &str,
    ) -> Result<(), Error> {
        let op = Op::DeactivateMfaDevice;
        let call = IamCall::DeactivateMfaDevice(user_name.to_string(), serial_number.to_string());
        self.record(call, op)?;
        self.remove_from(op, user_name, "MFA device", serial_number, |u| {
            &mut u.mfa_devices
        })
    }

    async fn delete_virtual_mfa_device(&self, serial_number: &str) -> Result<(), Error> {
        let op = Op::DeleteVirtualMfaDevice;
        self.record(
            IamCall::DeleteVirtualMfaDevice(serial_number.to_string()),
            op,
        )?;
        let mut account = lock(&self.account);
        if account
            .users
            .values()
            .any(|u| u.mfa_devices.contains(serial_number))
        {
            return Err(conflict(op, "the MFA device from its user"));
        }
        if account.virtual_mfa_devices.remove(serial_number) {
            Ok(())
        } else {
            Err(no_such_entity(
                op,
                &format!("VirtualMFADevice {serial_number}"),
            ))
        }
    }

    async fn list_ssh_public_keys(&self, user_name: &str) -> Result<Vec<String>, Error> {
        let op = Op::ListSshPublicKeys;
        self.record(IamCall::ListSshPublicKeys(user_name.to_string()), op)?;
        self.with_user(op, user_name, |u| {
            Ok(u.ssh_public_keys.iter().cloned().collect())
        })
    }

    async fn delete_ssh_public_key(&self, user_name: &str, key_id: &str) -> Result<(), Error> {
        let op = Op::DeleteSshPublicKey;
        let call = IamCall::DeleteSshPublicKey(user_name.to_string(), key_id.to_string());
        self.record(call, op)?;
        self.remove_from(op, user_name, "SSH public key", key_id, |u| {
            &mut u.ssh_public_keys
        })
    }

    async fn list_signing_certificates(&self, user_name: &str) -> Result<Vec<String>, Error> {
        let op = Op::ListSigningCertificates;
        self.record(IamCall::ListSigningCertificates(user_name.to_string()), op)?;
        self.with_user(op, user_name, |u| {
            Ok(u.signing_certificates.iter().cloned().collect())
        })
    }

    async fn delete_signing_certificate(
        &self,
        user_name: &str,
        certificate_id: &str,
    ) -> Result<(), Error> {
        let op = Op::DeleteSigningCertificate;
        let call =
            IamCall::DeleteSigningCertificate(user_name.to_string(), certificate_id.to_string());
        self.record(call, op)?;
        self.remove_from(op, user_name, "signing certificate", certificate_id, |u| {
            &mut u.signing_certificates
        })
    }

    async fn list_service_specific_credentials(
        &self,
        user_name: &str,
    ) -> Result<Vec<String>, Error> {
        let op = Op::ListServiceSpecificCredentials;
        self.record(
            IamCall::ListServiceSpecificCredentials(user_name.to_string()),
            op,
        )?;
        self.with_user(op, user_name, |u| {
            Ok(u.service_specific_credentials.iter().cloned().collect())
        })
    }

    async fn delete_service_specific_credential(
        &self,
        user_name: &str,
        credential_id: &str,
    ) -> Result<(), Error> {
        let op = Op::DeleteServiceSpecificCredential;
        let call = IamCall::DeleteServiceSpecificCredential(
            user_name.to_string(),
            credential_id.to_string(),
        );
        self.record(call, op)?;
        self.remove_from(
            op,
            user_name,
            "service-specific credential",
            credential_id,
            |u| &mut u.service_specific_credentials,
        )
    }

    async fn list_user_policies(&self, user_name: &str) -> Result<Vec<String>, Error> {
        let op = Op::ListUserPolicies;
        self.record(IamCall::ListUserPolicies(user_name.to_string()), op)?;
        self.with_user(op, user_name, |u| {
            Ok(u.inline_policies.keys().cloned().collect())
        })
    }

    async fn delete_user_policy(&self, user_name: &str, policy_name: &str) -> Result<(), Error> {
        let op = Op::DeleteUserPolicy;
        let call = IamCall::DeleteUserPolicy(user_name.to_string(), policy_name.to_string());
        self.record(call, op)?;
        self.with_user(op, user_name, |u| {
            match u.inline_policies.remove(policy_name) {
                Some(_) => Ok(()),
                None => Err(no_such_entity(op, &format!("user policy {policy_name}"))),
            }
        })
    }

    async fn list_attached_user_policies(&self, user_name: &str) -> Result<Vec<String>, Error> {
        let op = Op::ListAttachedUserPolicies;
        self.record(IamCall::ListAttachedUserPolicies(user_name.to_string()), op)?;
        self.with_user(op, user_name, |u| {
            Ok(u.attached_policies.iter().cloned().collect())
        })
    }

    async fn detach_user_policy(&self, user_name: &str, policy_arn: &str) -> Result<(), Error> {
        let op = Op::DetachUserPolicy;
        let call = IamCall::DetachUserPolicy(user_name.to_string(), policy_arn.to_string());
        self.record(call, op)?;
        self.remove_from(op, user_name, "attached policy", policy_arn, |u| {
            &mut u.attached_policies
        })
    }

    async fn list_groups_for_user(&self, user_name: &str) -> Result<Vec<String>, Error> {
        let op = Op::ListGroupsForUser;
        self.record(IamCall::ListGroupsForUser(user_name.to_string()), op)?;
        self.with_user(op, user_name, |u| Ok(u.groups.iter().cloned().collect()))
    }

    async fn remove_user_from_group(&self, user_name: &str, group_name: &str) -> Result<(), Error> {
        let op = Op::RemoveUserFromGroup;
        let call = IamCall::RemoveUserFromGroup(user_name.to_string(), group_name.to_string());
        self.record(call, op)?;
        self.remove_from(op, user_name, "group membership", group_name, |u| {
            &mut u.groups
        })
    }

    async fn delete_user(&self, user_name: &str) -> Result<(), Error> {
        let op = Op::DeleteUser;
        self.record(IamCall::DeleteUser(user_name.to_string()), op)?;
        let mut account = lock(&self.account);
        let user = account
            .users
            .get(user_name)
            .ok_or_else(|| no_such_entity(op, &format!("user with name {user_name}")))?;
        if let Some(what) = user.conflict() {
            return Err(conflict(op, what));
        }
        account.users.remove(user_name);
        Ok(())
    }

    async fn simulate_principal_policy(
        &self,
        input: &SimulationInput,
    ) -> Result<Vec<ActionDecision>, Error> {
        let call = IamCall::SimulatePrincipalPolicy(
            input.policy_source_arn.clone(),
            input.action_names.clone(),
            input.resource_arns.clone(),
        );
        self.record(call, Op::SimulatePrincipalPolicy)?;
        let account = lock(&self.account);
        Ok(input
            .action_names
            .iter()
            .map(|action| ActionDecision {
                action: action.clone(),
                allowed: !account.denied_actions.contains(action),
            })
            .collect())
    }
}
