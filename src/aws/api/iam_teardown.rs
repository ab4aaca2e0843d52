//! \[engine\] The IAM calls that take an IAM user apart, over `aws_sdk_iam`: for each kind
//! of thing that can hang off a user (access keys, login profile, MFA devices, SSH keys,
//! signing certificates, service-specific credentials, inline and managed policies,
//! group memberships) the list call, following every page, and the delete call; then
//! DeleteUser. One thin function per operation; the order and the rules (what "already
//! gone" means) are `revoke`'s.

use aws_sdk_iam::Client;

use super::iam_user::call;
use crate::aws::error::{AwsOperation as Op, Error};

/// IAM ListAccessKeys, every page: the key IDs.
pub(crate) async fn list_access_keys(client: &Client, user: &str) -> Result<Vec<String>, Error> {
    let pages = client.list_access_keys().user_name(user).into_paginator();
    let keys: Vec<_> = call(Op::ListAccessKeys, pages.items().send().collect()).await?;
    Ok(keys.into_iter().filter_map(|k| k.access_key_id).collect())
}

/// IAM DeleteLoginProfile.
pub(crate) async fn delete_login_profile(client: &Client, user: &str) -> Result<(), Error> {
    let request = client.delete_login_profile().user_name(user);
    call(Op::DeleteLoginProfile, request.send()).await.map(drop)
}

/// IAM ListMFADevices, every page: the serial numbers.
pub(crate) async fn list_mfa_devices(client: &Client, user: &str) -> Result<Vec<String>, Error> {
    let pages = client.list_mfa_devices().user_name(user).into_paginator();
    let devices: Vec<_> = call(Op::ListMfaDevices, pages.items().send().collect()).await?;
    Ok(devices.into_iter().map(|d| d.serial_number).collect())
}

/// IAM DeactivateMFADevice.
pub(crate) async fn deactivate_mfa_device(
    client: &Client,
    user: &str,
    serial_number: &str,
) -> Result<(), Error> {
    let request = client
        .deactivate_mfa_device()
        .user_name(user)
        .serial_number(serial_number);
    call(Op::DeactivateMfaDevice, request.send())
        .await
        .map(drop)
}

/// IAM DeleteVirtualMFADevice.
pub(crate) async fn delete_virtual_mfa_device(
    client: &Client,
    serial_number: &str,
) -> Result<(), Error> {
    let request = client
        .delete_virtual_mfa_device()
        .serial_number(serial_number);
    call(Op::DeleteVirtualMfaDevice, request.send())
        .await
        .map(drop)
}

/// IAM ListSSHPublicKeys, every page: the key IDs.
pub(crate) async fn list_ssh_public_keys(
    client: &Client,
    user: &str,
) -> Result<Vec<String>, Error> {
    let pages = client
        .list_ssh_public_keys()
        .user_name(user)
        .into_paginator();
    let keys: Vec<_> = call(Op::ListSshPublicKeys, pages.items().send().collect()).await?;
    Ok(keys.into_iter().map(|k| k.ssh_public_key_id).collect())
}

/// IAM DeleteSSHPublicKey.
pub(crate) async fn delete_ssh_public_key(
    client: &Client,
    user: &str,
    key_id: &str,
) -> Result<(), Error> {
    let request = client
        .delete_ssh_public_key()
        .user_name(user)
        .ssh_public_key_id(key_id);
    call(Op::DeleteSshPublicKey, request.send()).await.map(drop)
}

/// IAM ListSigningCertificates, every page: the certificate IDs.
pub(crate) async fn list_signing_certificates(
    client: &Client,
    user: &str,
) -> Result<Vec<String>, Error> {
    let pages = client
        .list_signing_certificates()
        .user_name(user)
        .into_paginator();
    let certs: Vec<_> = call(Op::ListSigningCertificates, pages.items().send().collect()).await?;
    Ok(certs.into_iter().map(|c| c.certificate_id).collect())
}

/// IAM DeleteSigningCertificate.
pub(crate) async fn delete_signing_certificate(
    client: &Client,
    user: &str,
    certificate_id: &str,
) -> Result<(), Error> {
    let request = client
        .delete_signing_certificate()
        .user_name(user)
        .certificate_id(certificate_id);
    call(Op::DeleteSigningCertificate, request.send())
        .await
        .map(drop)
}

/// IAM ListServiceSpecificCredentials, every page (the SDK has no paginator for it, so
/// the marker is followed here): the credential IDs.
pub(crate) async fn list_service_specific_credentials(
    client: &Client,
    user: &str,
) -> Result<Vec<String>, Error> {
    let mut ids = Vec::new();
    let mut marker = None;
    loop {
        let request = client
            .list_service_specific_credentials()
            .user_name(user)
            .set_marker(marker.take());
        let page = call(Op::ListServiceSpecificCredentials, request.send()).await?;
        ids.extend(
            page.service_specific_credentials()
                .iter()
                .map(|c| c.service_specific_credential_id().to_string()),
        );
        match page.marker() {
            Some(next) if page.is_truncated() && !next.is_empty() => {
                marker = Some(next.to_string())
            }
            _ => return Ok(ids),
        }
    }
}

/// IAM DeleteServiceSpecificCredential.
pub(crate) async fn delete_service_specific_credential(
    client: &Client,
    user: &str,
    credential_id: &str,
) -> Result<(), Error> {
    let request = client
        .delete_service_specific_credential()
        .user_name(user)
        .service_specific_credential_id(credential_id);
    call(Op::DeleteServiceSpecificCredential, request.send())
        .await
        .map(drop)
}

/// IAM ListUserPolicies, every page: the inline policy names.
pub(crate) async fn list_user_policies(client: &Client, user: &str) -> Result<Vec<String>, Error> {
    let pages = client.list_user_policies().user_name(user).into_paginator();
    call(Op::ListUserPolicies, pages.items().send().collect()).await
}

/// IAM DeleteUserPolicy.
pub(crate) async fn delete_user_policy(
    client: &Client,
    user: &str,
    policy_name: &str,
) -> Result<(), Error> {
    let request = client
        .delete_user_policy()
        .user_name(user)
        .policy_name(policy_name);
    call(Op::DeleteUserPolicy, request.send()).await.map(drop)
}

/// IAM ListAttachedUserPolicies, every page: the policy ARNs.
pub(crate) async fn list_attached_user_policies(
    client: &Client,
    user: &str,
) -> Result<Vec<String>, Error> {
    let pages = client
        .list_attached_user_policies()
        .user_name(user)
        .into_paginator();
    let policies: Vec<_> =
        call(Op::ListAttachedUserPolicies, pages.items().send().collect()).await?;
    Ok(policies.into_iter().filter_map(|p| p.policy_arn).collect())
}

/// IAM DetachUserPolicy.
pub(crate) async fn detach_user_policy(
    client: &Client,
    user: &str,
    policy_arn: &str,
) -> Result<(), Error> {
    let request = client
        .detach_user_policy()
        .user_name(user)
        .policy_arn(policy_arn);
    call(Op::DetachUserPolicy, request.send()).await.map(drop)
}

/// IAM ListGroupsForUser, every page: the group names.
pub(crate) async fn list_groups_for_user(
    client: &Client,
    user: &str,
) -> Result<Vec<String>, Error> {
    let pages = client
        .list_groups_for_user()
        .user_name(user)
        .into_paginator();
    let groups: Vec<_> = call(Op::ListGroupsForUser, pages.items().send().collect()).await?;
    Ok(groups.into_iter().map(|g| g.group_name).collect())
}

/// IAM RemoveUserFromGroup.
pub(crate) async fn remove_user_from_group(
    client: &Client,
    user: &str,
    group_name: &str,
) -> Result<(), Error> {
    let request = client
        .remove_user_from_group()
        .user_name(user)
        .group_name(group_name);
    call(Op::RemoveUserFromGroup, request.send())
        .await
        .map(drop)
}

/// IAM DeleteUser.
pub(crate) async fn delete_user(client: &Client, user: &str) -> Result<(), Error> {
    let request = client.delete_user().user_name(user);
    call(Op::DeleteUser, request.send()).await.map(drop)
}
