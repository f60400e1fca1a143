package replay

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

// DB is the part of the DynamoDB API the job store uses.
type DB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

var _ DB = (*dynamodb.Client)(nil)

// Job is a replay's progress, kept in the table (table.ReplayKey) while invocations hand it on. Its
// window and filters are read from here, never from an invocation's payload, so whoever may invoke
// the function can at most resume a replay that the API authorised.
type Job struct {
	ID        string
	Actor     string
	From, To  time.Time
	Trigger   string
	ProfileID int64
	Events    int64  // counted when the replay was asked for
	Published int64  // published so far
	Position  string // the last event published (audit.Position); "" before the first
	Done      bool
}

// Job store errors.
var (
	ErrJobNotFound = errors.New("replay: no such replay")
	ErrJobBusy     = errors.New("replay: another invocation holds the replay")
	ErrJobDone     = errors.New("replay: the replay is complete")
	ErrLeaseLost   = errors.New("replay: the lease on the replay was lost")
)

// Jobs keeps replay jobs in the project's table.
type Jobs struct {
	DB    DB
	Table string
}

const (
	statusRunning = "running"
	statusDone    = "done"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func key(id string) map[string]types.AttributeValue {
	pk, sk := table.ReplayKey(id)
	return map[string]types.AttributeValue{table.PK: s(pk), table.SK: s(sk)}
}

// Create stores a new job (refusing an existing ID).
func (j *Jobs) Create(ctx context.Context, job Job, now time.Time) error {
	item := key(job.ID)
	item["actor"] = s(job.Actor)
	item["window_from"] = s(job.From.UTC().Format(time.RFC3339Nano))
	item["window_to"] = s(job.To.UTC().Format(time.RFC3339Nano))
	item["events"] = n(job.Events)
	item["published"] = n(0)
	item["status"] = s(statusRunning)
	item["created_at"] = s(table.SortTime(now))
	item[table.ExpiresAt] = n(table.ExpiryAfter(now, table.ReplayJobRetention))
	if job.Trigger != "" {
		item["trigger"] = s(job.Trigger)
	}
	if job.ProfileID != 0 {
		item["profile_id"] = n(job.ProfileID)
	}
	_, err := j.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(j.Table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": table.PK},
	})
	if err != nil {
		return fmt.Errorf("replay: store job %s: %w", job.ID, err)
	}
	return nil
}

// Claim takes the job's lease for owner until until, unless another owner holds an unexpired one.
// A lease is the guard against two invocations publishing the same replay at once (Lambda may deliver
// an Event invocation twice). Lambda's retry of an invocation keeps its request ID, the owner, so a
// retry takes its own lease back at once.
func (j *Jobs) Claim(ctx context.Context, id, owner string, until, now time.Time) (Job, error) {
	out, err := j.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(j.Table),
		Key:              key(id),
		UpdateExpression: aws.String("SET #owner = :owner, #until = :until"),
		ConditionExpression: aws.String("attribute_exists(#pk) AND #status = :running AND " +
			"(attribute_not_exists(#until) OR #until < :now OR #owner = :owner)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": table.PK, "#status": "status", "#owner": "lease_owner", "#until": "lease_until",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":owner": s(owner), ":until": s(table.SortTime(until)), ":now": s(table.SortTime(now)),
			":running": s(statusRunning),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		job, gerr := j.Get(ctx, id)
		switch {
		case gerr != nil:
			return Job{}, gerr
		case job.Done:
			return job, ErrJobDone
		default:
			return job, ErrJobBusy
		}
	}
	if err != nil {
		return Job{}, fmt.Errorf("replay: claim job %s: %w", id, err)
	}
	return unmarshalJob(id, out.Attributes)
}

// Get reads a job (strongly consistent).
func (j *Jobs) Get(ctx context.Context, id string) (Job, error) {
	out, err := j.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(j.Table), Key: key(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Job{}, fmt.Errorf("replay: read job %s: %w", id, err)
	}
	if out.Item == nil {
		return Job{}, fmt.Errorf("%w: %s", ErrJobNotFound, id)
	}
	return unmarshalJob(id, out.Item)
}

// Save records the progress of owner's lease: the last event published and the count. With release
// the lease ends (the next invocation may claim at once); with done the replay is complete.
func (j *Jobs) Save(ctx context.Context, id, owner, position string, published int64, release, done bool) error {
	update := "SET #published = :published"
	values := map[string]types.AttributeValue{":owner": s(owner), ":published": n(published)}
	names := map[string]string{"#owner": "lease_owner", "#published": "published"}
	if position != "" {
		update += ", #position = :position"
		names["#position"] = "position"
		values[":position"] = s(position)
	}
	if done {
		update += ", #status = :done"
		names["#status"] = "status"
		values[":done"] = s(statusDone)
	}
	if release || done {
		update += " REMOVE #owner, #until"
		names["#until"] = "lease_until"
	}
	_, err := j.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(j.Table),
		Key:                       key(id),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("#owner = :owner"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("%w: %s", ErrLeaseLost, id)
	}
	if err != nil {
		return fmt.Errorf("replay: save job %s: %w", id, err)
	}
	return nil
}

func unmarshalJob(id string, item map[string]types.AttributeValue) (Job, error) {
	str := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	num := func(name string) int64 {
		if v, ok := item[name].(*types.AttributeValueMemberN); ok {
			i, _ := strconv.ParseInt(v.Value, 10, 64)
			return i
		}
		return 0
	}
	job := Job{
		ID: id, Actor: str("actor"), Trigger: str("trigger"), ProfileID: num("profile_id"),
		Events: num("events"), Published: num("published"), Position: str("position"),
		Done: str("status") == statusDone,
	}
	var err1, err2 error
	job.From, err1 = time.Parse(time.RFC3339Nano, str("window_from"))
	job.To, err2 = time.Parse(time.RFC3339Nano, str("window_to"))
	if err1 != nil || err2 != nil || job.Actor == "" {
		return Job{}, fmt.Errorf("replay: job %s is malformed", id)
	}
	return job, nil
}
