//! The real AWS SDK clients for Rust (`aws-sdk-iam`, `aws-sdk-sts`), pointed at the test
//! emulator (test layer): what the end-to-end suites use to look at what "AWS" holds
//! afterwards with an inspector's credentials, and to use issued credentials the way
//! their holder would. Blocking wrappers over a private runtime, because the suites are
//! plain threads; every call is signed (SigV4), so moto's authentication applies.

use std::future::Future;

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};

use super::moto::{REGION, xml_text};

/// IAM and STS clients signing with one set of credentials.
pub struct AwsClients {
    runtime: tokio::runtime::Runtime,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// STS.
    pub sts: aws_sdk_sts::Client,
}

impl AwsClients {
    /// Clients for `endpoint` signing with the access key `key` / `secret` (and a session
    /// token for temporary credentials). No retries: a refusal is the answer.
    pub fn new(endpoint: &str, key: &str, secret: &str, session_token: Option<&str>) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let credentials =
            Credentials::new(key, secret, session_token.map(str::to_string), None, "e2e");
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(REGION))
                .endpoint_url(endpoint)
                .credentials_provider(credentials.clone())
                .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled())
                .build(),
        );
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(REGION))
                .endpoint_url(endpoint)
                .credentials_provider(credentials)
                .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
                .build(),
        );
        AwsClients { runtime, iam, sts }
    }

    /// Runs one SDK call to completion.
    pub fn block<F: Future>(&self, call: F) -> F::Output {
        self.runtime.block_on(call)
    }

    /// The ARN STS says these credentials belong to, or AWS's error code.
    pub fn caller_arn(&self) -> Result<String, String> {
        self.block(self.sts.get_caller_identity().send())
            .map(|out| out.arn().unwrap_or_default().to_string())
            .map_err(|e| error_code(&e))
    }

    /// The names of every IAM user, every page.
    pub fn user_names(&self) -> Vec<String> {
        let users: Vec<_> = self
            .block(
                self.iam
                    .list_users()
                    .into_paginator()
                    .items()
                    .send()
                    .collect::<Result<Vec<_>, _>>(),
            )
            .expect("ListUsers");
        users.into_iter().map(|u| u.user_name).collect()
    }

    /// Whether the IAM user `name` exists.
    pub fn user_exists(&self, name: &str) -> bool {
        match self.block(self.iam.get_user().user_name(name).send()) {
            Ok(_) => true,
            Err(e) if error_code(&e) == "NoSuchEntity" => false,
            Err(e) => panic!("GetUser {name}: {}", error_code(&e)),
        }
    }
}

/// AWS's error code of a failed SDK call (or its debug text when it has none). moto nests
/// some errors (`<Errors><Error>`) where the SDK does not look, so the body is read too.
pub fn error_code<E>(err: &aws_sdk_iam::error::SdkError<E, HttpResponse>) -> String
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::fmt::Debug,
{
    err.as_service_error()
        .and_then(|e| e.code().map(str::to_string))
        .or_else(|| {
            let body = err.raw_response()?.body().bytes()?;
            xml_text(&String::from_utf8_lossy(body), "Code")
        })
        .unwrap_or_else(|| format!("{err:?}"))
}
