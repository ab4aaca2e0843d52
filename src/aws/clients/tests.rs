//! Tests of client building and STS failover: the settings as pure functions, failover
//! over recording fakes, and the real SDK clients against tiny local HTTP servers that
//! answer canned STS and IAM XML (or 500, or refuse connections), which also checks what
//! the thin functions put on the wire.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_credential_types::provider::ProvideCredentials;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::aws::error::Error;
use crate::aws::fake::{FakeSts, access_denied, unreachable};

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.get(name).cloned()
}

#[test]
fn region_comes_from_config_then_environment_then_us_east_1() {
    let both = env(&[
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "ap-south-1"),
    ]);
    assert_eq!(resolve_region("us-west-2", &both), "us-west-2");
    assert_eq!(resolve_region("", &both), "eu-west-1");
    let default_only = env(&[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "ap-south-1")]);
    assert_eq!(resolve_region("", &default_only), "ap-south-1");
    assert_eq!(resolve_region("", &env(&[])), "us-east-1");
}

#[test]
fn max_retries_maps_onto_sdk_attempts() {
    let standard = RetryConfig::standard();
    assert_eq!(retry_config(-1), standard);
    assert_eq!(retry_config(-7), standard, "any negative keeps the default");
    assert_eq!(retry_config(-1).max_attempts(), 3);
    assert_eq!(retry_config(0).max_attempts(), 1, "0 retries: one attempt");
    assert_eq!(retry_config(4).max_attempts(), 5);
    assert_eq!(retry_config(i64::MAX).max_attempts(), u32::MAX);
    assert_eq!(retry_config(4).mode(), standard.mode());
}

#[test]
fn sts_endpoints_are_primary_then_fallbacks_in_order() {
    let config = RootConfig {
        sts_endpoint: "https://sts.eu-west-1.amazonaws.com".into(),
        sts_region: "eu-west-1".into(),
        sts_fallback_endpoints: vec!["sts.eu-west-2.amazonaws.com".into(), "http://x:1".into()],
        sts_fallback_regions: vec!["eu-west-2".into(), String::new()],
        ..RootConfig::default()
    };
    let endpoints = sts_endpoints(&config, "us-east-2");
    let got: Vec<(Option<&str>, &str)> = endpoints
        .iter()
        .map(|e| (e.url.as_deref(), e.region.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (Some("https://sts.eu-west-1.amazonaws.com"), "eu-west-1"),
            (Some("https://sts.eu-west-2.amazonaws.com"), "eu-west-2"),
            (Some("http://x:1"), "us-east-2"),
        ]
    );
}

#[test]
fn sts_region_is_honoured_only_with_sts_endpoint() {
    let config = RootConfig {
        sts_region: "eu-west-1".into(),
        ..RootConfig::default()
    };
    assert_eq!(
        sts_endpoints(&config, "us-west-2"),
        [StsEndpoint {
            url: None,
            region: "us-west-2".into()
        }]
    );
}

#[test]
fn endpoint_urls_get_a_scheme_when_missing() {
    assert_eq!(endpoint_url(""), None);
    assert_eq!(endpoint_url("  "), None);
    assert_eq!(
        endpoint_url("iam.example.com").as_deref(),
        Some("https://iam.example.com")
    );
    assert_eq!(
        endpoint_url("http://127.0.0.1:5000").as_deref(),
        Some("http://127.0.0.1:5000")
    );
}

fn failover(fakes: &[Arc<FakeSts>]) -> StsFailover {
    StsFailover::new(
        fakes
            .iter()
            .enumerate()
            .map(|(i, f)| (format!("fake-{i}"), Arc::clone(f) as Arc<dyn StsApi>))
            .collect(),
    )
}

#[tokio::test]
async fn failover_moves_on_only_after_unreachable_or_server_errors() {
    let (a, b, c) = (FakeSts::new(), FakeSts::new(), FakeSts::new());
    let op = AwsOperation::GetCallerIdentity;
    a.fail_next(op, unreachable(op));
    b.fail_next(
        op,
        Error::ServerError(crate::aws::error::ServiceFailure::new(
            op,
            503,
            "Unavailable",
            "down",
        )),
    );
    let sts = failover(&[a.clone(), b.clone(), c.clone()]);
    sts.get_caller_identity().await.expect("the third answers");
    assert_eq!(
        (a.calls().len(), b.calls().len(), c.calls().len()),
        (1, 1, 1)
    );

    // The next request starts at the first endpoint again.
    sts.get_caller_identity().await.expect("the first answers");
    assert_eq!(
        (a.calls().len(), b.calls().len(), c.calls().len()),
        (2, 1, 1)
    );
}

#[tokio::test]
async fn failover_stops_at_a_refusal() {
    let (a, b) = (FakeSts::new(), FakeSts::new());
    let op = AwsOperation::AssumeRole;
    a.fail_next(op, access_denied(op));
    let sts = failover(&[a.clone(), b.clone()]);
    let err = sts
        .assume_role(AssumeRoleInput::default())
        .await
        .expect_err("refused");
    assert_eq!(err.code(), Some("AccessDenied"));
    assert!(b.calls().is_empty(), "a 4xx is not retried elsewhere");
}

#[tokio::test]
async fn failover_returns_the_last_failure_when_all_fail() {
    let (a, b) = (FakeSts::new(), FakeSts::new());
    let op = AwsOperation::GetSessionToken;
    a.fail_next(op, unreachable(op));
    b.fail_next(op, crate::aws::fake::throttling(op));
    let sts = failover(&[a.clone(), b.clone()]);
    let err = sts
        .get_session_token(SessionTokenInput::default())
        .await
        .expect_err("all failed");
    assert!(err.is_throttled(), "{err:?}");
    assert_eq!(b.session_token_inputs(), vec![SessionTokenInput::default()]);
}

/// A local HTTP/1.1 server answering each request with the next canned reply (the last
/// one repeats), recording request heads and bodies. Connections are closed after each
/// reply.
struct CannedServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl CannedServer {
    async fn start(replies: Vec<(u16, &'static str)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (h, r) = (Arc::clone(&hits), Arc::clone(&requests));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let n = h.fetch_add(1, Ordering::SeqCst);
                let reply = replies[n.min(replies.len() - 1)];
                let r = Arc::clone(&r);
                tokio::spawn(answer(stream, reply, n, r));
            }
        });
        CannedServer {
            addr,
            hits,
            requests,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<(String, String)> {
        self.requests.lock().expect("lock").clone()
    }
}

async fn answer(
    mut stream: TcpStream,
    (status, body): (u16, &'static str),
    n: usize,
    log: Arc<Mutex<Vec<(String, String)>>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let read = stream.read(&mut chunk).await.expect("read");
        assert!(read > 0, "client closed before the request ended");
        buf.extend_from_slice(&chunk[..read]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let read = stream.read(&mut chunk).await.expect("read body");
        assert!(read > 0, "client closed mid-body");
        buf.extend_from_slice(&chunk[..read]);
    }
    let body_in = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
    log.lock().expect("lock").push((head, body_in));
    let reply = format!(
        "HTTP/1.1 {status} Canned\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nx-amzn-requestid: header-req-{n}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes()).await.expect("write");
    let _ = stream.shutdown().await;
}

/// An address nothing listens on: connections are refused.
async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

const CALLER_IDENTITY: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::123456789012:user/vault-root</Arn>
    <UserId>AIDAEXAMPLE</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>req-ok</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;

const ACCESS_DENIED: &str = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed here</Message></Error>
  <RequestId>req-denied</RequestId>
</ErrorResponse>"#;

const THROTTLED: &str = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>
  <RequestId>req-slow</RequestId>
</ErrorResponse>"#;

const ASSUMED: &str = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/ec2-admin/session-1</Arn>
      <AssumedRoleId>AROAEXAMPLE:session-1</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
      <SecretAccessKey>example-secret</SecretAccessKey>
      <SessionToken>example-token</SessionToken>
      <Expiration>2030-01-01T00:00:00Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>req-assume</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#;

/// A configuration with static keys, no retries (so a failing endpoint is hit once),
/// and the given STS endpoints.
fn config_for(primary: &str, fallbacks: &[(&str, &str)]) -> RootConfig {
    RootConfig {
        access_key: "AKIATESTTEST".into(),
        secret_key: "test-secret".into(),
        region: "us-east-1".into(),
        sts_endpoint: primary.into(),
        sts_region: "eu-west-1".into(),
        sts_fallback_endpoints: fallbacks.iter().map(|(u, _)| u.to_string()).collect(),
        sts_fallback_regions: fallbacks.iter().map(|(_, r)| r.to_string()).collect(),
        max_retries: 0,
        ..RootConfig::default()
    }
}

fn sdk_factory() -> SdkClientFactory {
    SdkClientFactory::with_env(Arc::new(|_| None))
}

fn signing_region(head: &str) -> Option<String> {
    // Authorization: AWS4-HMAC-SHA256 Credential=AKIA…/<date>/<region>/sts/aws4_request, …
    let credential = head.split("Credential=").nth(1)?;
    credential.split('/').nth(2).map(str::to_string)
}

#[tokio::test]
async fn sdk_sts_fails_over_past_refused_and_500_endpoints() {
    let broken = CannedServer::start(vec![(500, "oops")]).await;
    let good = CannedServer::start(vec![(200, CALLER_IDENTITY)]).await;
    let config = config_for(
        &refused_url().await,
        &[(&broken.url(), "us-west-2"), (&good.url(), "eu-central-1")],
    );
    let sts = sdk_factory().sts(&config).await.expect("build");
    let me = sts
        .get_caller_identity()
        .await
        .expect("answered by the third");
    assert_eq!(me.account, "123456789012");
    assert_eq!(me.arn, "arn:aws:iam::123456789012:user/vault-root");
    assert_eq!(
        (broken.hits(), good.hits()),
        (1, 1),
        "max_retries 0: one attempt each"
    );
    let (head, body) = &good.requests()[0];
    assert_eq!(
        signing_region(head).as_deref(),
        Some("eu-central-1"),
        "{head}"
    );
    assert!(
        head.contains("AKIATESTTEST"),
        "signed with the static key: {head}"
    );
    assert!(!head.contains("test-secret") && !body.contains("test-secret"));
    assert!(body.contains("Action=GetCallerIdentity"), "{body}");
}

#[tokio::test]
async fn sdk_sts_does_not_fail_over_on_a_refusal() {
    let denying = CannedServer::start(vec![(403, ACCESS_DENIED)]).await;
    let good = CannedServer::start(vec![(200, CALLER_IDENTITY)]).await;
    let config = config_for(&denying.url(), &[(&good.url(), "us-west-2")]);
    let sts = sdk_factory().sts(&config).await.expect("build");
    let err = sts.get_caller_identity().await.expect_err("refused");
    assert!(matches!(err, Error::Rejected(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Error getting caller identity: AccessDenied: not allowed here (request id: header-req-0)"
    );
    assert_eq!(good.hits(), 0);
    let (head, _) = &denying.requests()[0];
    assert_eq!(
        signing_region(head).as_deref(),
        Some("eu-west-1"),
        "sts_region signs for sts_endpoint"
    );
}

#[tokio::test]
async fn sdk_throttling_is_classified_as_throttled() {
    let slow = CannedServer::start(vec![(400, THROTTLED)]).await;
    let sts = sdk_factory()
        .sts(&config_for(&slow.url(), &[]))
        .await
        .expect("build");
    let err = sts.get_caller_identity().await.expect_err("throttled");
    assert!(err.is_throttled(), "{err:?}");
    // The SDK takes the request ID from the `x-amzn-RequestId` header (AWS sends both).
    assert_eq!(err.request_id(), Some("header-req-0"));
    let out = err.into_response_or_error().expect_err("coded");
    assert_eq!(out.status(), Some(502));
}

#[tokio::test]
async fn sdk_assume_role_sends_every_input_and_reads_the_answer() {
    let sts_server = CannedServer::start(vec![(200, ASSUMED)]).await;
    let sts = sdk_factory()
        .sts(&config_for(&sts_server.url(), &[]))
        .await
        .expect("build");
    let input = AssumeRoleInput {
        role_arn: "arn:aws:iam::123456789012:role/ec2-admin".into(),
        role_session_name: "session-1".into(),
        duration: Some(Duration::from_secs(900)),
        policy: Some(r#"{"Version":"2012-10-17"}"#.into()),
        policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
        external_id: Some("ext-1".into()),
        tags: [("team".to_string(), "blue".to_string())].into(),
        ..AssumeRoleInput::default()
    };
    let out = sts.assume_role(input).await.expect("assumed");
    assert_eq!(
        out.arn,
        "arn:aws:sts::123456789012:assumed-role/ec2-admin/session-1"
    );
    assert_eq!(out.credentials.access_key_id, "ASIAEXAMPLE");
    assert_eq!(out.credentials.session_token, "example-token");
    assert_eq!(
        out.credentials.expiration,
        std::time::UNIX_EPOCH + Duration::from_secs(1_893_456_000)
    );
    let (_, body) = &sts_server.requests()[0];
    for part in [
        "Action=AssumeRole",
        "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fec2-admin",
        "RoleSessionName=session-1",
        "DurationSeconds=900",
        "ExternalId=ext-1",
        "PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess",
        "Tags.member.1.Key=team",
        "Tags.member.1.Value=blue",
        "Policy=%7B%22Version%22%3A%222012-10-17%22%7D",
    ] {
        assert!(body.contains(part), "{part} missing from {body}");
    }
}

const GROUP_POLICIES_PAGE_1: &str = r#"<ListGroupPoliciesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListGroupPoliciesResult>
    <PolicyNames><member>first</member><member>second</member></PolicyNames>
    <IsTruncated>true</IsTruncated>
    <Marker>page-2</Marker>
  </ListGroupPoliciesResult>
  <ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata>
</ListGroupPoliciesResponse>"#;

const GROUP_POLICIES_PAGE_2: &str = r#"<ListGroupPoliciesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListGroupPoliciesResult>
    <PolicyNames><member>third</member></PolicyNames>
    <IsTruncated>false</IsTruncated>
  </ListGroupPoliciesResult>
  <ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata>
</ListGroupPoliciesResponse>"#;

const NO_SUCH_GROUP: &str = r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The group with name ops cannot be found.</Message></Error>
  <RequestId>r-missing</RequestId>
</ErrorResponse>"#;

#[tokio::test]
async fn sdk_iam_list_calls_follow_every_page() {
    let iam_server = CannedServer::start(vec![
        (200, GROUP_POLICIES_PAGE_1),
        (200, GROUP_POLICIES_PAGE_2),
        (404, NO_SUCH_GROUP),
    ])
    .await;
    let config = RootConfig {
        iam_endpoint: iam_server.url(),
        ..config_for("", &[])
    };
    let iam = sdk_factory().iam(&config).await.expect("build");
    let names = iam.list_group_policies("dev").await.expect("listed");
    assert_eq!(names, ["first", "second", "third"]);
    let requests = iam_server.requests();
    assert!(requests[0].1.contains("GroupName=dev"), "{}", requests[0].1);
    assert!(requests[1].1.contains("Marker=page-2"), "{}", requests[1].1);

    let err = iam.list_group_policies("ops").await.expect_err("missing");
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.request_id(), Some("header-req-2"));
}

#[tokio::test]
async fn base_settings_carry_region_retries_and_static_keys() {
    let factory = SdkClientFactory::with_env(Arc::new(|name| {
        (name == "AWS_REGION").then(|| "ca-central-1".to_string())
    }));
    let config = RootConfig {
        access_key: "AKIABASE".into(),
        secret_key: "base-secret".into(),
        max_retries: 5,
        ..RootConfig::default()
    };
    let region = resolve_region(&config.region, &*factory.env);
    let base = factory.base(&config, &region).await;
    assert_eq!(base.region().map(|r| r.as_ref()), Some("ca-central-1"));
    assert_eq!(base.retry_config().map(|r| r.max_attempts()), Some(6));
    assert_eq!(
        base.timeout_config()
            .and_then(|t| t.operation_attempt_timeout()),
        Some(ATTEMPT_TIMEOUT)
    );
    let creds = base
        .credentials_provider()
        .expect("a provider")
        .provide_credentials()
        .await
        .expect("static keys");
    assert_eq!(creds.access_key_id(), "AKIABASE");
    assert!(
        !format!("{creds:?}").contains("base-secret"),
        "SDK redacts too"
    );
}

/// A page of a query-protocol list answer: `members` inside `<list>`, truncated with
/// `marker` when one is given. Leaked: the canned server wants `'static` bodies.
fn list_page(action: &str, list: &str, members: &[String], marker: Option<&str>) -> &'static str {
    let items: String = members
        .iter()
        .map(|m| format!("<member>{m}</member>"))
        .collect();
    let more = match marker {
        Some(m) => format!("<IsTruncated>true</IsTruncated><Marker>{m}</Marker>"),
        None => "<IsTruncated>false</IsTruncated>".to_string(),
    };
    Box::leak(
        format!(
            r#"<{action}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><{action}Result><{list}>{items}</{list}>{more}</{action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"#
        )
        .into_boxed_str(),
    )
}

#[tokio::test]
async fn sdk_iam_user_lists_follow_pages_past_a_thousand_items() {
    let names: Vec<String> = (0..1500).map(|i| format!("policy-{i:04}")).collect();
    let iam_server = CannedServer::start(vec![
        (
            200,
            list_page("ListUserPolicies", "PolicyNames", &names[..600], Some("m1")),
        ),
        (
            200,
            list_page(
                "ListUserPolicies",
                "PolicyNames",
                &names[600..1200],
                Some("m2"),
            ),
        ),
        (
            200,
            list_page("ListUserPolicies", "PolicyNames", &names[1200..], None),
        ),
    ])
    .await;
    let config = RootConfig {
        iam_endpoint: iam_server.url(),
        ..config_for("", &[])
    };
    let iam = sdk_factory().iam(&config).await.expect("build");
    let listed = iam.list_user_policies("vault-u").await.expect("listed");
    assert_eq!(listed, names);
    let requests = iam_server.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests[0].1.contains("UserName=vault-u"),
        "{}",
        requests[0].1
    );
    assert!(requests[1].1.contains("Marker=m1"), "{}", requests[1].1);
    assert!(requests[2].1.contains("Marker=m2"), "{}", requests[2].1);
}

#[tokio::test]
async fn sdk_service_specific_credentials_follow_markers_by_hand() {
    let page = |ids: &[&str], marker: Option<&str>| {
        let items: String = ids
            .iter()
            .map(|id| {
                format!(
                    "<member><UserName>u</UserName><Status>Active</Status><ServiceUserName>u-at-1</ServiceUserName>\
                     <CreateDate>2026-01-01T00:00:00Z</CreateDate><ServiceSpecificCredentialId>{id}</ServiceSpecificCredentialId>\
                     <ServiceName>codecommit.amazonaws.com</ServiceName></member>"
                )
            })
            .collect();
        let more = match marker {
            Some(m) => format!("<IsTruncated>true</IsTruncated><Marker>{m}</Marker>"),
            None => String::new(),
        };
        &*Box::leak(
            format!(
                r#"<ListServiceSpecificCredentialsResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListServiceSpecificCredentialsResult><ServiceSpecificCredentials>{items}</ServiceSpecificCredentials>{more}</ListServiceSpecificCredentialsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListServiceSpecificCredentialsResponse>"#
            )
            .into_boxed_str(),
        )
    };
    let iam_server = CannedServer::start(vec![
        (200, page(&["ACCA1", "ACCA2"], Some("next"))),
        (200, page(&["ACCA3"], None)),
    ])
    .await;
    let config = RootConfig {
        iam_endpoint: iam_server.url(),
        ..config_for("", &[])
    };
    let iam = sdk_factory().iam(&config).await.expect("build");
    let ids = iam
        .list_service_specific_credentials("u")
        .await
        .expect("listed");
    assert_eq!(ids, ["ACCA1", "ACCA2", "ACCA3"]);
    assert!(iam_server.requests()[1].1.contains("Marker=next"));
}

#[tokio::test]
async fn sdk_iam_user_calls_send_their_inputs_and_read_the_key() {
    let key = r#"<CreateAccessKeyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateAccessKeyResult><AccessKey><UserName>vault-u</UserName><AccessKeyId>AKIANEW</AccessKeyId><Status>Active</Status><SecretAccessKey>new-secret</SecretAccessKey></AccessKey></CreateAccessKeyResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateAccessKeyResponse>"#;
    let empty = r#"<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateUserResult><User><Path>/v/</Path><UserName>vault-u</UserName><UserId>AIDA1</UserId><Arn>arn:aws:iam::123456789012:user/v/vault-u</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></User></CreateUserResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateUserResponse>"#;
    let iam_server = CannedServer::start(vec![(200, empty), (200, key)]).await;
    let config = RootConfig {
        iam_endpoint: iam_server.url(),
        ..config_for("", &[])
    };
    let iam = sdk_factory().iam(&config).await.expect("build");
    let input = crate::aws::api::CreateUserInput {
        user_name: "vault-u".into(),
        path: "/v/".into(),
        permissions_boundary: Some("arn:aws:iam::123456789012:policy/B".into()),
    };
    iam.create_user(&input).await.expect("created");
    let created = iam.create_access_key(Some("vault-u")).await.expect("key");
    assert_eq!(created.access_key_id, "AKIANEW");
    assert_eq!(created.secret_access_key, "new-secret");
    assert!(!format!("{created:?}").contains("new-secret"));
    let requests = iam_server.requests();
    for part in [
        "Action=CreateUser",
        "UserName=vault-u",
        "Path=%2Fv%2F",
        "PermissionsBoundary=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2FB",
    ] {
        assert!(
            requests[0].1.contains(part),
            "{part} missing: {}",
            requests[0].1
        );
    }
    assert!(requests[1].1.contains("Action=CreateAccessKey"));
}
