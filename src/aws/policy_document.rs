//! \[engine\] IAM policy documents as the engine handles them: checked to be JSON and
//! compacted before a role is stored (Go's `json.Compact`: white space outside strings
//! removed, everything else byte for byte), and combined into one session policy from the
//! role's document and its groups' inline policies (Vault's `combinePolicyDocuments`).
//!
//! This module does not judge IAM semantics (actions, resources, conditions); AWS does
//! that when the policy is used. It does no I/O: fetching group policies is the caller's.

use serde_json::{Map, Value};

/// The IAM policy language version Vault writes into combined documents.
pub const POLICY_VERSION: &str = "2012-10-17";

/// Why a policy document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not JSON.
    #[error("policy document is not valid JSON: {0}")]
    InvalidJson(String),
    /// The JSON is not an object, so it has no `Statement`.
    #[error("policy document must be a JSON object, found {0}")]
    NotAnObject(&'static str),
    /// `Statement` is `null`.
    #[error("policy document has a null Statement")]
    NullStatement,
}

/// Validates `input` as JSON and removes insignificant white space, keeping key order,
/// number spelling and string escapes exactly as given (Go's `json.Compact`).
pub fn compact(input: &str) -> Result<String, PolicyError> {
    serde_json::from_str::<serde::de::IgnoredAny>(input)
        .map_err(|e| PolicyError::InvalidJson(e.to_string()))?;
    let mut out = String::with_capacity(input.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in input.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    Ok(out)
}

/// The statements of a policy document: `Statement` may be a list or a single statement
/// (which is wrapped in a list), and may be absent (no statements). As in Go, the key is
/// matched without regard to case when no exact `Statement` key exists.
pub fn statements(document: &str) -> Result<Vec<Value>, PolicyError> {
    let parsed: Value =
        serde_json::from_str(document).map_err(|e| PolicyError::InvalidJson(e.to_string()))?;
    let object = match parsed {
        Value::Object(object) => object,
        // Go decodes a JSON null into an empty document.
        Value::Null => return Ok(Vec::new()),
        other => return Err(PolicyError::NotAnObject(kind(&other))),
    };
    let statement = match object.get("Statement") {
        Some(v) => Some(v),
        None => object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("statement"))
            .map(|(_, v)| v),
    };
    match statement {
        None => Ok(Vec::new()),
        Some(Value::Null) => Err(PolicyError::NullStatement),
        Some(Value::Array(list)) => Ok(list.clone()),
        Some(single) => Ok(vec![single.clone()]),
    }
}

/// Combines policy documents into one: `{"Version":"2012-10-17","Statement":[…]}` with
/// every statement of every non-empty document, in order. Statement objects are written
/// compactly with their keys sorted, as Go's encoder writes maps. Vault calls this only
/// when the role's groups contributed inline policies; otherwise the role's own document
/// is used unchanged.
pub fn combine<'a, I>(documents: I) -> Result<String, PolicyError>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut all = Vec::new();
    for document in documents {
        if document.is_empty() {
            continue;
        }
        all.extend(statements(document)?.into_iter().map(sort_keys));
    }
    // Written by hand so that Version precedes Statement whatever serde_json's map order.
    let statements = serde_json::to_string(&Value::Array(all))
        .map_err(|e| PolicyError::InvalidJson(e.to_string()))?;
    Ok(format!(
        r#"{{"Version":"{POLICY_VERSION}","Statement":{statements}}}"#
    ))
}

/// Rebuilds objects with sorted keys, recursively, independent of whether serde_json
/// keeps insertion order.
fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(String, Value)> = object.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let sorted: Map<String, Value> = entries
                .into_iter()
                .map(|(k, v)| (k, sort_keys(v)))
                .collect();
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vault's iam_policies_test.go fixtures.
    const EC2_DESCRIBE: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:DescribeInstances"], "Resource": "*"}]}"#;
    const EC2_ALL: &str = r#"{"Version": "2012-10-17","Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}"#;
    const EC2_SINGLE: &str = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["ec2:DescribeInstances"], "Resource": "*"}}"#;

    #[test]
    fn compact_strips_only_insignificant_white_space() {
        let input = "{\n  \"Version\": \"2012-10-17\",\n\t\"Statement\" : [ { \"Sid\": \"a b\\\" c\", \"N\": 1.50 } ]\r\n}";
        assert_eq!(
            compact(input).expect("compact"),
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"a b\" c","N":1.50}]}"#
        );
        // Key order and escapes are the caller's, not re-encoded.
        assert_eq!(
            compact(r#"{ "b":1, "a":"\u0041" }"#).expect("c"),
            r#"{"b":1,"a":"\u0041"}"#
        );
    }

    #[test]
    fn compact_refuses_non_json() {
        assert!(matches!(
            compact("not json {"),
            Err(PolicyError::InvalidJson(_))
        ));
        assert!(compact("{} {}").is_err());
        assert!(compact("").is_err());
    }

    #[test]
    fn statements_accept_list_single_absent_and_any_case() {
        assert_eq!(statements(EC2_DESCRIBE).expect("list").len(), 1);
        assert_eq!(statements(EC2_SINGLE).expect("single").len(), 1);
        assert!(
            statements(r#"{"Version":"2012-10-17"}"#)
                .expect("absent")
                .is_empty()
        );
        assert_eq!(statements(r#"{"statement":[1,2]}"#).expect("case").len(), 2);
        assert_eq!(statements("null").expect("null doc"), Vec::<Value>::new());
        assert_eq!(
            statements(r#"{"Statement":null}"#),
            Err(PolicyError::NullStatement)
        );
        assert_eq!(statements("[1]"), Err(PolicyError::NotAnObject("an array")));
        assert!(matches!(
            statements(r#"{"Statement": {true}"#),
            Err(PolicyError::InvalidJson(_))
        ));
    }

    #[test]
    fn combine_matches_vaults_outputs() {
        assert_eq!(
            combine([EC2_ALL]).expect("one"),
            r#"{"Version":"2012-10-17","Statement":[{"Action":"ec2:*","Effect":"Allow","Resource":"*"}]}"#
        );
        assert_eq!(
            combine([EC2_ALL, EC2_DESCRIBE]).expect("two"),
            r#"{"Version":"2012-10-17","Statement":[{"Action":"ec2:*","Effect":"Allow","Resource":"*"},{"Action":["ec2:DescribeInstances"],"Effect":"Allow","Resource":"*"}]}"#
        );
        assert_eq!(
            combine([EC2_ALL, r#"{"Version": "2012-10-17", "Statement": []}"#]).expect("empty"),
            r#"{"Version":"2012-10-17","Statement":[{"Action":"ec2:*","Effect":"Allow","Resource":"*"}]}"#
        );
        assert_eq!(
            combine(["", r#"{"Version": "2012-10-17", "Statement": []}"#]).expect("blank"),
            r#"{"Version":"2012-10-17","Statement":[]}"#
        );
        assert_eq!(
            combine([EC2_SINGLE]).expect("single"),
            r#"{"Version":"2012-10-17","Statement":[{"Action":["ec2:DescribeInstances"],"Effect":"Allow","Resource":"*"}]}"#
        );
    }

    #[test]
    fn combine_sorts_nested_keys_and_rejects_bad_documents() {
        let doc =
            r#"{"Statement":{"Effect":"Allow","Condition":{"StringEquals":{"z":"1","a":"2"}}}}"#;
        assert_eq!(
            combine([doc]).expect("nested"),
            r#"{"Version":"2012-10-17","Statement":[{"Condition":{"StringEquals":{"a":"2","z":"1"}},"Effect":"Allow"}]}"#
        );
        let malformed = r#""Version": "2012-10-17","Statement": [{"Effect": "Allow"}]}"#;
        assert!(combine([malformed, EC2_ALL]).is_err());
    }
}
