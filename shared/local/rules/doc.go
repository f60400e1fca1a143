// Package rules is `make dev`'s EventBridge rule engine: it evaluates the AWS::Events::Rule
// resources of template.yaml against every event put on the local bus (package eventbus) and delivers
// matching events to the rules' targets in process, so that a workflow (trigger, filter, action) runs
// locally as it will deployed.
//
// Rules come from samtemplate with their Conditions applied: a workflow that a parameter turns off is
// not there, and one turned on by a parameter override is. A rule applies to the events of its
// EventBusName (the default bus when it names none); a DISABLED rule and a schedule-only rule apply to
// none. Patterns are matched with package eventpattern.
//
// Targets:
//
//   - a Lambda function of the template (Arn: !GetAtt SomeFunction.Arn) is invoked in process through
//     the Invoker (apigateway.Functions), as EventBridge invokes it: asynchronously, its result dropped;
//   - an AWS::SQS::Queue of the template (Arn: !GetAtt SomeQueue.Arn) receives the message in an
//     in-memory queue, listed at GET /_local/queues/{LogicalId} (QueuesHandler);
//   - anything else (Step Functions, API destinations, …) cannot run locally: it is skipped, and said
//     so once in the log when the engine starts.
//
// What a target receives is computed as EventBridge does: the whole event; or Input (a constant);
// or InputPath (a JSONPath into the event); or InputTransformer, whose InputPathsMap names values of
// the event by JSONPath ($.detail.lead_id, $.resources[0]) and whose InputTemplate places them as
// <name>: a string value outside quotes becomes a JSON string, inside quotes its text; numbers,
// booleans, objects and arrays their JSON. The predefined <aws.events.rule-arn>,
// <aws.events.rule-name>, <aws.events.event.ingestion-time>, <aws.events.event> (the event without
// detail) and <aws.events.event.json> (the whole event) are available. Two local choices where
// EventBridge's behaviour is unhelpful to mirror: a value placed inside quotes is JSON-escaped (so the
// result stays valid JSON), and a variable whose path is absent from the event becomes null outside
// quotes and nothing inside them.
//
// A delivery the engine cannot make (the function does not exist, the payload is not JSON) goes to
// the target's DeadLetterConfig queue when it names a queue of the template, as EventBridge does,
// with the event as the body; otherwise it is logged. A function that fails is logged by its error
// type (EventBridge hands the event to Lambda's asynchronous invocation, whose retries are Lambda's
// concern, not the rule's).
//
// Deliveries run in goroutines, so a publisher never waits for a target; Wait blocks until every
// delivery started so far has finished, which is what tests need. Nothing here logs an event, a
// payload or a function's error message: logs name the rule, the target, the event ID and the error
// type.
package rules
