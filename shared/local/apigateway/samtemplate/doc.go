// Package samtemplate reads an AWS SAM template.yaml the way `sam local` needs it: the functions (code
// location, environment, timeout), their API Gateway routes with the auth each one gets, and the
// EventBridge rules, with Globals merged as SAM merges them.
//
// CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, !If, …) are decoded into the same Value as
// their long form ({"Ref": …}, {"Fn::Sub": …}), so a template never fails to load over a tag. Values
// that need a concrete string locally are resolved as `sam local` resolves them: !Ref of a parameter
// gives its override or default, of a pseudo parameter a fixed local value (account 123456789012,
// region us-east-1), of a resource its logical ID; !GetAtt of a function's Arn gives the local ARN the
// Lambda Invoke API accepts. What cannot be known without deploying (another attribute, an import)
// stays an intrinsic in Values and becomes "" where a string is required.
package samtemplate
