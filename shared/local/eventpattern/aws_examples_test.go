package eventpattern_test

import (
	"testing"

	"github.com/wcbridge/wcbridge/shared/local/eventpattern"
)

// The events and patterns of AWS's EventBridge user guide ("Amazon EventBridge event patterns",
// "Matching null values and empty strings", "Arrays in event patterns", "Content filtering", the
// comparison-operator table) and of the event-ruler README that EventBridge's matching comes from.
// Each documented example appears with the verdict the documentation gives it, plus a near miss
// that must not match.

// ec2Event is the guide's example event of "Amazon EventBridge event patterns".
const ec2Event = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-12-22T18:43:48Z",
  "region": "us-west-1",
  "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"}
}`

// autoscalingEvent is the guide's example of "Matching null values and empty strings".
const autoscalingEvent = `{
  "version": "0",
  "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
  "detail-type": "EC2 Instance Launch Successful",
  "source": "aws.autoscaling",
  "account": "123456789012",
  "time": "2015-11-11T21:31:47Z",
  "region": "us-east-1",
  "resources": [],
  "detail": {"eventVersion": "", "responseElements": null}
}`

// macieEvent is the guide's (truncated) Macie alert of "Value matching".
const macieEvent = `{
  "version": "0",
  "id": "3e355723-fca9-4de3-9fd7-154c289d6b59",
  "detail-type": "Macie Alert",
  "source": "aws.macie",
  "account": "123456789012",
  "time": "2017-04-24T22:28:49Z",
  "region": "us-east-1",
  "resources": [
    "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_id",
    "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id"
  ],
  "detail": {
    "notification-type": "ALERT_CREATED",
    "name": "Scanning bucket policies",
    "tags": ["Custom_Alert", "Insider"],
    "risk-score": 80,
    "trigger": {"rule-arn": "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id", "alert-type": "basic", "risk": 8}
  }
}`

// rulerEvent is the example event of event-ruler's README, against which its (and the guide's
// content-filtering) examples are written.
const rulerEvent = `{
  "version": "0",
  "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "012345679012",
  "time": "2017-10-02T16:24:49Z",
  "region": "us-east-1",
  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
  "detail": {
    "c-count": 5,
    "d-count": 3,
    "x-limit": 301.8,
    "source-ip": "10.0.0.33",
    "instance-id": "i-000000aaaaaa00000",
    "state": "running"
  }
}`

type example struct {
	name    string
	pattern string
	event   string
	want    bool
}

func runExamples(t *testing.T, examples []example) {
	t.Helper()
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			p, err := eventpattern.Compile([]byte(ex.pattern))
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			got, err := p.Match([]byte(ex.event))
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if got != ex.want {
				t.Errorf("Match = %v, want %v\npattern: %s", got, ex.want, ex.pattern)
			}
		})
	}
}

func TestTheUserGuidesEventPatternExamples(t *testing.T) {
	runExamples(t, []example{
		{"instance-termination events match on source, detail-type and detail.state",
			`{"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], "detail": {"state": ["terminated"]}}`,
			ec2Event, true},
		{"the same pattern does not match another state",
			`{"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], "detail": {"state": ["running"]}}`,
			ec2Event, false},
		{"a value list is an OR: aws.ec2 or aws.fargate",
			`{"source": ["aws.ec2", "aws.fargate"]}`, ec2Event, true},
		{"a value list without the event's value does not match",
			`{"source": ["aws.fargate", "aws.ecs"]}`, ec2Event, false},
		{"every field the pattern names must be in the event",
			`{"source": ["aws.ec2"], "detail": {"instance-type": ["t3.micro"]}}`, ec2Event, false},
		{"the pattern must follow the event's nesting",
			`{"state": ["terminated"]}`, ec2Event, false},
		{"strings match character by character, without case folding",
			`{"detail": {"state": ["Terminated"]}}`, ec2Event, false},
	})
}

func TestTheUserGuidesNullAndEmptyStringExamples(t *testing.T) {
	runExamples(t, []example{
		{"[null] matches a null field (field matching example)",
			`{"source": ["aws.autoscaling"], "detail-type": ["EC2 Instance Launch Successful"], "detail": {"responseElements": [null]}}`,
			autoscalingEvent, true},
		{`[""] matches an empty string`, `{"detail": {"eventVersion": [""]}}`, autoscalingEvent, true},
		{`null and "" are not interchangeable: [null] does not match ""`, `{"detail": {"eventVersion": [null]}}`, autoscalingEvent, false},
		{`null and "" are not interchangeable: [""] does not match null`, `{"detail": {"responseElements": [""]}}`, autoscalingEvent, false},
		{"[null] does not match an absent field", `{"detail": {"requestParameters": [null]}}`, autoscalingEvent, false},
		{"[null] does not match an empty array", `{"resources": [null]}`, autoscalingEvent, false},
	})
}

func TestTheUserGuidesValueMatchingExample(t *testing.T) {
	runExamples(t, []example{
		{"risk-score 80 and trigger.risk 8 (numbers, nested)",
			`{"source": ["aws.macie"], "detail-type": ["Macie Alert"], "detail": {"risk-score": [80], "trigger": {"risk": [8]}}}`,
			macieEvent, true},
		{"a different nested number does not match",
			`{"source": ["aws.macie"], "detail": {"risk-score": [80], "trigger": {"risk": [9]}}}`, macieEvent, false},
		{"a number does not match its string", `{"detail": {"risk-score": ["80"]}}`, macieEvent, false},
		{"numbers match by their text: 80.0 is not 80", `{"detail": {"risk-score": [80.0]}}`, macieEvent, false},
		{"a value matches any element of an array in the event", `{"detail": {"tags": ["Insider"]}}`, macieEvent, true},
		{"no element of the array matches", `{"detail": {"tags": ["External"]}}`, macieEvent, false},
	})
}

func TestTheUserGuidesArrayExample(t *testing.T) {
	pattern := `{"resources": [
	  "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
	  "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
	  "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}`
	runExamples(t, []example{
		{"the pattern's first value is the event array's second: the intersection is not empty", pattern,
			`{"resources": ["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate",
			  "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}`, true},
		{"an empty intersection does not match", pattern,
			`{"resources": ["arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f"]}`, false},
		{"arrays of arrays are flattened", `{"detail": {"ids": [3]}}`, `{"detail": {"ids": [[1, 2], [3]]}}`, true},
		{"a nested pattern is matched within one element of an array of objects",
			`{"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}`,
			`{"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}]}`, true},
		{"fields from different elements do not combine (array-consistent matching)",
			`{"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}`,
			`{"employees": [{"firstName": "Anna", "lastName": "Smith"}, {"firstName": "Peter", "lastName": "Jones"}]}`, false},
	})
}

func TestTheContentFilteringExamples(t *testing.T) {
	runExamples(t, []example{
		// Prefix.
		{"prefix on time", `{"time": [{"prefix": "2017-10-02"}]}`, rulerEvent, true},
		{"prefix that is not the value's", `{"time": [{"prefix": "2017-10-03"}]}`, rulerEvent, false},
		{"prefix matches strings only", `{"detail": {"c-count": [{"prefix": "5"}]}}`, rulerEvent, false},
		{"prefix example: auto scaling events from Europe, a US event",
			`{"source": ["aws.autoscaling"], "region": [{"prefix": "eu-"}]}`, autoscalingEvent, false},
		{"prefix example: auto scaling events from Europe, a European event",
			`{"source": ["aws.autoscaling"], "region": [{"prefix": "eu-"}]}`,
			`{"source": "aws.autoscaling", "region": "eu-west-1"}`, true},
		// Suffix and equals-ignore-case (event-ruler).
		{"suffix", `{"source": [{"suffix": "ec2"}]}`, rulerEvent, true},
		{"suffix that is not the value's", `{"source": [{"suffix": "s3"}]}`, rulerEvent, false},
		{"equals-ignore-case", `{"source": [{"equals-ignore-case": "AWS.EC2"}]}`, rulerEvent, true},
		{"equals-ignore-case is still equality", `{"source": [{"equals-ignore-case": "AWS.EC"}]}`, rulerEvent, false},
		// Anything-but.
		{"anything-but a string", `{"detail": {"state": [{"anything-but": "initializing"}]}}`, rulerEvent, true},
		{"anything-but the value itself", `{"detail": {"state": [{"anything-but": "running"}]}}`, rulerEvent, false},
		{"anything-but a number", `{"detail": {"x-limit": [{"anything-but": 123}]}}`, rulerEvent, true},
		{"anything-but the number itself, numerically", `{"detail": {"x-limit": [{"anything-but": 3.018e2}]}}`, rulerEvent, false},
		{"anything-but a list of strings", `{"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}`, rulerEvent, true},
		{"anything-but a list holding the value", `{"detail": {"state": [{"anything-but": ["stopped", "running"]}]}}`, rulerEvent, false},
		{"anything-but a list of numbers", `{"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}`, rulerEvent, true},
		{"anything-but a prefix", `{"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}`, rulerEvent, true},
		{"anything-but the value's prefix", `{"detail": {"state": [{"anything-but": {"prefix": "run"}}]}}`, rulerEvent, false},
		{"anything-but example: everything but CloudTrail API calls",
			`{"detail-type": [{"anything-but": "AWS API Call via CloudTrail"}]}`, rulerEvent, true},
		{"anything-but example: everything but EC2 and S3", `{"source": [{"anything-but": ["aws.ec2", "aws.s3"]}]}`, rulerEvent, false},
		{"anything-but example: only your own events, not aws.*", `{"source": [{"anything-but": {"prefix": "aws."}}]}`, rulerEvent, false},
		{"anything-but example: only your own events, a custom source", `{"source": [{"anything-but": {"prefix": "aws."}}]}`,
			`{"source": "wcbridge.whatconverts"}`, true},
		{"anything-but does not match an absent field", `{"detail": {"status": [{"anything-but": "initializing"}]}}`, rulerEvent, false},
		{"anything-but matches null", `{"detail": {"state": [{"anything-but": ["stopped", "running"]}]}}`, `{"detail": {"state": null}}`, true},
		// Numeric.
		{"numeric example: c-count in (0, 5], d-count < 10, x-limit = 301.8",
			`{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"numeric": ["=", 3.018e2]}]}}`,
			rulerEvent, true},
		{"numeric: 5 is not below 5", `{"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}}`, rulerEvent, false},
		{"numeric matches numbers only", `{"detail": {"state": [{"numeric": [">", 0]}]}}`, rulerEvent, false},
		// Exists.
		{"exists: true on a present leaf", `{"detail": {"state": [{"exists": true}]}}`, rulerEvent, true},
		{"exists: true on an absent field", `{"detail": {"description": [{"exists": true}]}}`, rulerEvent, false},
		{"exists: false matches an event without detail.c-count",
			`{"detail": {"c-count": [{"exists": false}]}}`,
			`{"detail-type": ["EC2 Instance State-change Notification"],
			  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
			  "detail": {"state": ["initializing", "running"]}}`, true},
		{"exists: false also matches where c-count is an object: exists looks at leaves only",
			`{"detail": {"c-count": [{"exists": false}]}}`,
			`{"detail-type": ["EC2 Instance State-change Notification"],
			  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
			  "detail": {"state": ["initializing", "running"], "c-count": {"c1": 100}}}`, true},
		{"exists: false on a present leaf", `{"detail": {"c-count": [{"exists": false}]}}`, rulerEvent, false},
		// Combined.
		{"the complex example: prefix, anything-but and numeric together",
			`{"time": [{"prefix": "2017-10-02"}], "detail": {"state": [{"anything-but": "initializing"}],
			  "c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}],
			  "x-limit": [{"anything-but": [100, 200, 300]}]}}`, rulerEvent, true},
		{"the complex example fails when one field fails",
			`{"time": [{"prefix": "2017-10-02"}], "detail": {"state": [{"anything-but": "running"}],
			  "c-count": [{"numeric": [">", 0, "<=", 5]}]}}`, rulerEvent, false},
	})
}

// The comparison-operator table of the user guide, one row each, with an event of its own.
func TestTheComparisonOperatorTable(t *testing.T) {
	runExamples(t, []example{
		{"And", `{"Location": ["New York"], "Day": ["Monday"]}`, `{"Location": "New York", "Day": "Monday"}`, true},
		{"And, one field differs", `{"Location": ["New York"], "Day": ["Monday"]}`, `{"Location": "New York", "Day": "Tuesday"}`, false},
		{"Anything-but", `{"state": [{"anything-but": "initializing"}]}`, `{"state": "running"}`, true},
		{"Anything-but (begins with)", `{"Region": [{"anything-but": {"prefix": "us-"}}]}`, `{"Region": "eu-west-1"}`, true},
		{"Anything-but (begins with), a US region", `{"Region": [{"anything-but": {"prefix": "us-"}}]}`, `{"Region": "us-east-1"}`, false},
		{"Anything-but (ends with)", `{"FileName": [{"anything-but": {"suffix": ".png"}}]}`, `{"FileName": "a.jpg"}`, true},
		{"Anything-but (ends with), a .png", `{"FileName": [{"anything-but": {"suffix": ".png"}}]}`, `{"FileName": "a.png"}`, false},
		{"Anything-but (ignore case)", `{"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}`, `{"state": "running"}`, true},
		{"Anything-but (ignore case), INITIALIZING", `{"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}`, `{"state": "INITIALIZING"}`, false},
		{"Begins with", `{"Region": [{"prefix": "us-"}]}`, `{"Region": "us-east-1"}`, true},
		{"Begins with (ignore case)", `{"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}`, `{"service": "EventBridge"}`, true},
		{"Begins with (ignore case), another service", `{"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}`, `{"service": "Lambda"}`, false},
		{"Empty", `{"LastName": [""]}`, `{"LastName": ""}`, true},
		{"Equals", `{"Name": ["Alice"]}`, `{"Name": "Alice"}`, true},
		{"Equals (ignore case)", `{"Name": [{"equals-ignore-case": "alice"}]}`, `{"Name": "ALICE"}`, true},
		{"Ends with", `{"FileName": [{"suffix": ".png"}]}`, `{"FileName": "image.png"}`, true},
		{"Ends with (ignore case)", `{"service": [{"suffix": {"equals-ignore-case": "tBridge"}}]}`, `{"service": "EVENTBRIDGE"}`, true},
		{"Exists", `{"ProductName": [{"exists": true}]}`, `{"ProductName": "x"}`, true},
		{"Does not exist", `{"ProductName": [{"exists": false}]}`, `{"Other": "x"}`, true},
		{"Not", `{"Weather": [{"anything-but": ["Raining"]}]}`, `{"Weather": "Sunny"}`, true},
		{"Null", `{"UserID": [null]}`, `{"UserID": null}`, true},
		{"Numeric (equals)", `{"Price": [{"numeric": ["=", 100]}]}`, `{"Price": 100}`, true},
		{"Numeric (equals) compares values, not text", `{"Price": [{"numeric": ["=", 100]}]}`, `{"Price": 1.0e2}`, true},
		{"Numeric (range)", `{"Price": [{"numeric": [">", 10, "<=", 20]}]}`, `{"Price": 20}`, true},
		{"Numeric (range), 10 is excluded", `{"Price": [{"numeric": [">", 10, "<=", 20]}]}`, `{"Price": 10}`, false},
		{"Or", `{"PaymentType": ["Credit", "Debit"]}`, `{"PaymentType": "Debit"}`, true},
		{"Or (multiple fields), the second alternative", `{"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}`, `{"Location": "Paris", "Day": "Monday"}`, true},
		{"Or (multiple fields), neither", `{"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}`, `{"Location": "Paris", "Day": "Friday"}`, false},
	})
}
