#!/usr/bin/env bash
# Runs the plugin for real, for a developer: builds it, starts an OpenBao dev server and a
# local moto "AWS" on free loopback ports, seeds moto like the multi-account tutorial (IAM
# user vault-account with a key, role ec2-admin trusting it), then turns moto's request
# signing and IAM policy checks on; registers the binary by SHA-256 under the catalog name
# `aws`, mounts it at aws/, prints the environment to export and the tutorial's commands with
# the real key, secret and role ARN filled in, then waits. Ctrl-C (or SIGTERM) stops
# everything this script started, by PID, and removes its scratch directory.
#
# Usage: scripts/dev.sh [--real-aws] [--debug]
#   --real-aws   (or AWS_RS_REAL_AWS=1) do not start moto; configure the engine against real AWS
#   --debug      (or AWS_RS_DEV_PROFILE=debug) use a debug build instead of a release build
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
real_aws="${AWS_RS_REAL_AWS:-0}"
profile="${AWS_RS_DEV_PROFILE:-release}"
plugin_command="vault-plugin-secrets-aws-rs"

usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
for arg in "$@"; do
    case "$arg" in
        --real-aws) real_aws=1 ;;
        --debug) profile=debug ;;
        -h | --help) usage; exit 0 ;;
        *) echo "dev.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done
case "$profile" in release | debug) ;; *) echo "dev.sh: AWS_RS_DEV_PROFILE must be release or debug" >&2; exit 2 ;; esac

say() { printf 'dev.sh: %s\n' "$*" >&2; }

# --- tools and build -------------------------------------------------------------------
tools="$("$repo_root/scripts/install-test-deps.sh")"
bao="$(sed -n 's/^AWS_RS_BAO_BIN=//p' <<<"$tools")"
moto="$(sed -n 's/^AWS_RS_MOTO_BIN=//p' <<<"$tools")"
venv_bin="$(dirname "$moto")"
python="$venv_bin/python"

say "building the plugin ($profile)"
if [[ "$profile" == release ]]; then
    (cd "$repo_root" && cargo build --release --bin "$plugin_command")
else
    (cd "$repo_root" && cargo build --bin "$plugin_command")
fi
binary="$repo_root/target/$profile/$plugin_command"

# --- scratch directory and cleanup ------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/aws-rs-dev.XXXXXX")"
mkdir -p "$work/plugins" "$work/tmp"
plugin_path="$work/plugins/$plugin_command"
bao_pid=""
moto_pid=""

stop_pid() { # pid name: TERM, wait up to 10 s, then KILL
    local pid="$1" name="$2"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name (pid $pid) did not stop on TERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    trap - EXIT INT TERM
    say "stopping (OpenBao pid ${bao_pid:-none}, moto pid ${moto_pid:-none})"
    # OpenBao stops its plugin processes when it gets TERM; it would orphan them on KILL.
    stop_pid "$bao_pid" "OpenBao"
    stop_pid "$moto_pid" "moto"
    local proc
    for proc in /proc/[0-9]*; do
        if [[ "$(readlink "$proc/exe" 2>/dev/null)" == "$plugin_path" ]]; then
            say "stopping leftover plugin process ${proc#/proc/}"
            kill -KILL "${proc#/proc/}" 2>/dev/null || true
        fi
    done
    rm -rf "$work"
    say "cleaned up"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints "<api port> <moto port>": the API port's neighbour (the dev cluster listener) is
# free too, and all three differ.
free_ports() {
    "$python" - <<'PY'
import socket
held = []
def grab(port=0):
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    held.append(s)
    return s.getsockname()[1]
while True:
    api = grab()
    try:
        grab(api + 1)
        break
    except OSError:
        pass
print(api, grab())
PY
}

wait_http() { # url name pid
    "$python" - "$1" "$2" "$3" <<'PY'
import os, sys, time, urllib.request, urllib.error
url, name, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline = time.time() + 60
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(f"dev.sh: {name} exited during start-up")
    try:
        urllib.request.urlopen(url, timeout=2)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)  # it answers: good enough
    except OSError:
        time.sleep(0.1)
sys.exit(f"dev.sh: {name} did not answer {url} within 60 s")
PY
}

read -r bao_port moto_port < <(free_ports)
bao_addr="http://127.0.0.1:$bao_port"
moto_addr="http://127.0.0.1:$moto_port"

# --- moto ---------------------------------------------------------------------------------
if [[ "$real_aws" != 1 ]]; then
    # Managed policies (arn:aws:iam::aws:policy/...) are not loaded by moto 5.x by default.
    # moto runs through the test suite's wrapper, which makes DeleteUser refuse while a user
    # still has keys, a password, MFA devices etc., as AWS does.
    MOTO_IAM_LOAD_MANAGED_POLICIES=true TMPDIR="$work/tmp" \
        "$python" "$repo_root/tests/fixtures/strict_moto.py" -H 127.0.0.1 -p "$moto_port" \
        </dev/null >"$work/moto.log" 2>&1 &
    moto_pid=$!
    wait_http "$moto_addr/moto-api/data.json" moto "$moto_pid" || { tail -n 20 "$work/moto.log" >&2; exit 1; }
    # The tutorial's AWS objects, created while moto still accepts anything; then every
    # later call must be SigV4-signed by a known key and is checked against IAM policies
    # and trust policies, as in AWS. Prints "<access key> <secret key> <role ARN>".
    read -r root_key root_secret ec2admin_arn < <(
        env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_ENDPOINT_URL AWS_CONFIG_FILE=/dev/null \
            AWS_SHARED_CREDENTIALS_FILE=/dev/null "$python" - "$moto_addr" <<'PY'
import json, sys, urllib.request
import boto3
endpoint = sys.argv[1]
account_user = "arn:aws:iam::123456789012:user/vault-account"
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
iam.create_user(UserName="vault-account")
key = iam.create_access_key(UserName="vault-account")["AccessKey"]
# What the engine needs: STS for the STS types, group reads for iam_groups, the IAM user
# calls of iam_user credentials (creating a user, and deleting it with everything a holder
# can attach) and of config/rotate-root.
iam.put_user_policy(UserName="vault-account", PolicyName="vault-root", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
        "sts:AssumeRole", "sts:GetFederationToken", "sts:GetSessionToken",
        "iam:GetGroupPolicy", "iam:ListGroupPolicies", "iam:ListAttachedGroupPolicies",
        "iam:GetUser", "iam:CreateUser", "iam:DeleteUser", "iam:TagUser",
        "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys",
        "iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:ListUserPolicies",
        "iam:AttachUserPolicy", "iam:DetachUserPolicy", "iam:ListAttachedUserPolicies",
        "iam:AddUserToGroup", "iam:RemoveUserFromGroup", "iam:ListGroupsForUser",
        "iam:PutUserPermissionsBoundary", "iam:DeleteLoginProfile",
        "iam:ListMFADevices", "iam:DeactivateMFADevice", "iam:DeleteVirtualMFADevice",
        "iam:ListSSHPublicKeys", "iam:DeleteSSHPublicKey",
        "iam:ListSigningCertificates", "iam:DeleteSigningCertificate",
        "iam:ListServiceSpecificCredentials", "iam:DeleteServiceSpecificCredential"]}]}))
iam.create_group(GroupName="dev-group")
iam.attach_group_policy(GroupName="dev-group",
                        PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
role = iam.create_role(RoleName="ec2-admin", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": account_user},
                   "Action": "sts:AssumeRole"}]}))["Role"]
iam.attach_role_policy(RoleName="ec2-admin",
                       PolicyArn="arn:aws:iam::aws:policy/AmazonEC2FullAccess")
# From now on no call is free (moto's INITIAL_NO_AUTH_ACTION_COUNT = 0).
# (text/plain: with urllib's default form type, the server would not see the body.)
urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0",
                                              headers={"Content-Type": "text/plain"}))
print(key["AccessKeyId"], key["SecretAccessKey"], role["Arn"])
PY
    )
    [[ -n "${ec2admin_arn:-}" ]] || { say "seeding moto failed"; tail -n 20 "$work/moto.log" >&2; exit 1; }
    say "moto seeded: user vault-account ($root_key), role $ec2admin_arn; signing enforced"
fi

# --- OpenBao ------------------------------------------------------------------------------
printf 'plugin_directory = "%s"\n' "$work/plugins" >"$work/config.hcl"
# TMPDIR: the plugin's unix sockets land in the scratch dir too. -dev-no-store-token: no
# ~/.vault-token is written.
TMPDIR="$work/tmp" "$bao" server -dev -dev-no-store-token -dev-root-token-id=root \
    -dev-listen-address="127.0.0.1:$bao_port" -config="$work/config.hcl" \
    </dev/null >"$work/bao.log" 2>&1 &
bao_pid=$!
wait_http "$bao_addr/v1/sys/health" OpenBao "$bao_pid" || { tail -n 20 "$work/bao.log" >&2; exit 1; }

export BAO_ADDR="$bao_addr" BAO_TOKEN=root
cp "$binary" "$plugin_path"
chmod 0755 "$plugin_path"
sha256="$(sha256sum "$plugin_path" | cut -d' ' -f1)"
"$bao" plugin register -sha256="$sha256" -command="$plugin_command" secret aws >/dev/null
"$bao" secrets enable aws >/dev/null
say "plugin $plugin_command (sha256 $sha256) registered as 'aws' and mounted at aws/"

# --- what to type -------------------------------------------------------------------------
if [[ "$real_aws" == 1 ]]; then
    aws_line="AWS: real AWS (moto not started)."
    values="export key=<AKIA...> secret=<secret key> ec2adminarn=arn:aws:iam::<account>:role/<role>"
    endpoints=""
else
    aws_line="AWS: moto at $moto_addr (account 123456789012; signatures and IAM policies are checked)."
    values="export key=$root_key secret=$root_secret ec2adminarn=$ec2admin_arn"
    # The only addition to the tutorial: point the engine at moto.
    endpoints=" \\
      iam_endpoint=$moto_addr sts_endpoint=$moto_addr"
fi
cat <<MSG

OpenBao $("$bao" version | head -n1 | cut -d' ' -f2) is running at $bao_addr with the plugin mounted at aws/.
$aws_line

In another shell:

    export BAO_ADDR=$bao_addr BAO_TOKEN=root
    export VAULT_ADDR=$bao_addr VAULT_TOKEN=root
    export PATH="$venv_bin:\$PATH"

The multi-account tutorial (its 'bao secrets enable aws' is already done):

    $values
    bao write aws/config/root access_key=\$key secret_key=\$secret region=us-east-1$endpoints
    bao write aws/roles/ec2-admin role_arns=\$ec2adminarn credential_type=assumed_role
    bao write aws/sts/ec2-admin ttl=60m

More that works now:

    bao read aws/config/root
    bao list aws/roles
    bao write aws/roles/fed credential_type=federation_token \\
      policy_arns=arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess
    bao write aws/sts/fed ttl=15m
    bao write aws/roles/session credential_type=session_token
    bao read aws/creds/session
    bao write aws/config/lease lease=30m lease_max=1h
    bao write aws/roles/dev credential_type=iam_user iam_groups=dev-group \
      policy_arns=arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess
    bao read aws/creds/dev
    bao lease revoke -sync <lease_id>      # the IAM user is deleted
    bao write -f aws/config/rotate-root
$(if [[ "$real_aws" != 1 ]]; then cat <<USE

Use issued credentials against moto like against AWS (boto3 is in the venv):

    AWS_ENDPOINT_URL=$moto_addr AWS_DEFAULT_REGION=us-east-1 \\
    AWS_ACCESS_KEY_ID=<access_key> AWS_SECRET_ACCESS_KEY=<secret_key> AWS_SESSION_TOKEN=<session_token> \\
      python -c 'import boto3; print(boto3.client("sts").get_caller_identity()["Arn"])'
USE
fi)

Logs: $work/bao.log$(if [[ "$real_aws" != 1 ]]; then echo " and $work/moto.log"; fi)
Press Ctrl-C to stop everything and remove $work.
MSG

# Waits on the server; a signal interrupts the wait and the traps clean up.
set +e
wait "$bao_pid"
status=$?
set -e
say "OpenBao exited with status $status; last log lines:"
tail -n 20 "$work/bao.log" >&2 || true
exit "$status"
