package audit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

// ActionRejections is the action of a rejection count: the refused webhook deliveries of one minute
// and one status, counted in one audit item instead of one record each (security.md S18: an
// unauthenticated flood cannot buy six-year records).
const ActionRejections = "rejections"

// rejectionPrefix begins the ID of every rejection count: "rej_<YYYYMMDDhhmm>_<status>".
const rejectionPrefix = "rej_"

// Attribute names of rejection counts.
const (
	attrCount   = "count"
	attrFirstAt = "first_at"
	attrLastAt  = "last_at"
)

// RejectionID is the ID of the count of the refused deliveries answered status in at's minute.
func RejectionID(at time.Time, status int) string {
	return rejectionPrefix + at.UTC().Format("200601021504") + "_" + strconv.Itoa(status)
}

// isRejectionCount tells a count's item from a record's: counts are updated in place during their
// minute, so they carry no hash and no tag; the period digest fixes their final content.
func isRejectionCount(id string) bool { return strings.HasPrefix(id, rejectionPrefix) }

// CountRejection counts one refused webhook delivery in its minute's count for status, with one
// UpdateItem: the count is exact (an atomic ADD), first_at is the first counted delivery's time and
// last_at the latest one written. However many deliveries are refused, a minute has one item per
// status. The count is an audit item of kind webhook, outcome rejected, action rejections, on the
// by-day index, so the daily report counts it and the period digest covers it once its minute is
// over; it holds no request detail (request IDs are in the function's log).
func (s *Store) CountRejection(ctx context.Context, at time.Time, status int) (int64, error) {
	at = at.UTC()
	minute := at.Truncate(time.Minute)
	id := RejectionID(at, status)
	pk, sk := table.AuditKey(id)
	out, err := s.cfg.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.cfg.Table),
		Key:       map[string]types.AttributeValue{table.PK: sAttr(pk), table.SK: sAttr(sk)},
		UpdateExpression: aws.String("ADD #count :one SET #kind = :kind, #actor = :actor, #action = :action, " +
			"#outcome = :outcome, #status = :status, #received = :minute, #daypk = :daypk, #daysk = :daysk, " +
			"#expires = :expires, #first = if_not_exists(#first, :at), #last = :at"),
		ExpressionAttributeNames: map[string]string{
			"#count": attrCount, "#kind": attrKind, "#actor": attrActor, "#action": attrAction, "#outcome": attrOutcome,
			"#status": attrStatus, "#received": attrReceivedAt, "#daypk": table.DayPK, "#daysk": table.DaySK,
			"#expires": table.ExpiresAt, "#first": attrFirstAt, "#last": attrLastAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": nAttr(1), ":kind": sAttr(string(KindWebhook)), ":actor": sAttr(WebhookActor),
			":action": sAttr(ActionRejections), ":outcome": sAttr(string(OutcomeRejected)), ":status": nAttr(int64(status)),
			":minute":  sAttr(table.SortTime(minute)),
			":daypk":   sAttr(table.DayPartition(table.Day(minute), table.ShardOf(id))),
			":daysk":   sAttr(table.IndexSortKey(minute, id)),
			":expires": nAttr(table.ExpiryAfter(minute, table.AuditRetention)),
			":at":      sAttr(table.SortTime(at)),
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("audit: count rejection %s: %w", id, err)
	}
	n, _ := out.Attributes[attrCount].(*types.AttributeValueMemberN)
	if n == nil {
		return 0, nil
	}
	c, _ := strconv.ParseInt(n.Value, 10, 64)
	return c, nil
}
