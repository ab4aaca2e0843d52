//! \[engine\] IAM SimulatePrincipalPolicy over `aws_sdk_iam`, the one call behind the
//! permission report of `config/check`: our input to the SDK's, every page followed, each
//! evaluation reduced to allowed or not, failures classified once. Which actions to ask
//! about, and for which principal, is `path_config_check`'s business.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{EvaluationResult, PolicyEvaluationDecisionType};

use super::iam_user::call;
use super::{ActionDecision, SimulationInput};
use crate::aws::error::{AwsOperation as Op, Error};

/// IAM SimulatePrincipalPolicy, every page. AWS answers one evaluation per action and
/// resource; an action counts as allowed only when all of its evaluations are.
pub(crate) async fn simulate_principal_policy(
    client: &Client,
    input: &SimulationInput,
) -> Result<Vec<ActionDecision>, Error> {
    let resources = (!input.resource_arns.is_empty()).then(|| input.resource_arns.clone());
    let pages = client
        .simulate_principal_policy()
        .policy_source_arn(&input.policy_source_arn)
        .set_action_names(Some(input.action_names.clone()))
        .set_resource_arns(resources)
        .into_paginator();
    let results: Vec<EvaluationResult> =
        call(Op::SimulatePrincipalPolicy, pages.items().send().collect()).await?;
    Ok(decisions(&input.action_names, &results))
}

/// One decision per requested action, in the order asked. An action AWS did not evaluate
/// at all counts as denied: nothing said it is allowed.
fn decisions(asked: &[String], results: &[EvaluationResult]) -> Vec<ActionDecision> {
    let mut allowed: BTreeMap<&str, bool> = BTreeMap::new();
    for result in results {
        let this = *result.eval_decision() == PolicyEvaluationDecisionType::Allowed;
        allowed
            .entry(result.eval_action_name())
            .and_modify(|all| *all &= this)
            .or_insert(this);
    }
    asked
        .iter()
        .map(|action| ActionDecision {
            action: action.clone(),
            allowed: allowed.get(action.as_str()).copied().unwrap_or(false),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(action: &str, decision: PolicyEvaluationDecisionType) -> EvaluationResult {
        EvaluationResult::builder()
            .eval_action_name(action)
            .eval_decision(decision)
            .build()
            .expect("complete")
    }

    #[test]
    fn an_action_is_allowed_only_when_every_evaluation_allows_it() {
        use PolicyEvaluationDecisionType as D;
        let asked: Vec<String> = ["iam:CreateUser", "iam:AddUserToGroup", "sts:AssumeRole"]
            .map(String::from)
            .to_vec();
        let results = [
            result("iam:CreateUser", D::Allowed),
            result("iam:AddUserToGroup", D::Allowed),
            result("iam:AddUserToGroup", D::ImplicitDeny),
        ];
        let got: Vec<(String, bool)> = decisions(&asked, &results)
            .into_iter()
            .map(|d| (d.action, d.allowed))
            .collect();
        assert_eq!(
            got,
            [
                ("iam:CreateUser".to_string(), true),
                ("iam:AddUserToGroup".to_string(), false),
                ("sts:AssumeRole".to_string(), false),
            ]
        );
    }
}
