package audit

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/wcbridge/wcbridge/shared/table"
)

// DB is the part of the DynamoDB API the store uses.
type DB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ DB = (*dynamodb.Client)(nil)

// Sealer encrypts a record's PHI part, binding it to aad (shared/envelope's Encryptor is one).
// Writers need only this, so a writer's role needs no kms:Decrypt.
type Sealer interface {
	Seal(ctx context.Context, aad, plaintext []byte) ([]byte, error)
}

// Opener decrypts what a Sealer sealed, refusing it under any other aad.
type Opener interface {
	Open(ctx context.Context, aad, sealed []byte) ([]byte, error)
}

// MAC is the part of the KMS API that checks legacy daily digests (an HMAC_256 key). Nothing
// makes them any more.
type MAC interface {
	VerifyMac(ctx context.Context, in *kms.VerifyMacInput, optFns ...func(*kms.Options)) (*kms.VerifyMacOutput, error)
}

var _ MAC = (*kms.Client)(nil)

// Tagger tags records at write time: a MAC over the record hash under a tag key that KMS wraps under
// its own key, returned with its wrapped form (shared/envelope's Tagger is one). It calls KMS once per
// tag key, never per record, and gives writers nothing to read records back with.
type Tagger interface {
	Tag(ctx context.Context, msg []byte) (wrappedKey, tag []byte, err error)
}

// TagChecker checks a record's tag: it unwraps the tag key (kms:Decrypt on the tag key, never on the
// data key) and compares. A tag or wrapped key that does not verify is (false, nil).
type TagChecker interface {
	Check(ctx context.Context, wrappedKey, msg, tag []byte) (bool, error)
}

// Config is what a Store needs. Only DB and Table are always required; each function sets what it
// may use (least privilege): Sealer to write PHI, Opener to read it, MAC and DigestKeyID for legacy digests.
type Config struct {
	DB          DB
	Table       string
	Sealer      Sealer
	Opener      Opener
	MAC         MAC
	DigestKeyID string           // the HMAC_256 KMS key of the legacy daily digests (VerifyMac)
	Tagger      Tagger           // writers: tags every record (required to write records)
	TagChecker  TagChecker       // verifiers: checks record tags
	Signer      Signer           // the digest role: signs period digests (kms:Sign)
	SigningKey  string           // the ECC_NIST_P256 KMS key (ID, ARN or alias) that signs period digests
	PublicKey   *ecdsa.PublicKey // verifiers: the signing key's public key (offline verification)
	Anchor      Anchor           // the write-once copy of each period digest outside the table (S3 Object Lock)
	Now         func() time.Time // defaults to time.Now
	// Log, for writers, gets one StoredLogMessage line per record stored (writer, seq and period;
	// nothing else). Lambda delivers it to the function's log group, outside the table: see WriteLog.
	Log *slog.Logger
	// WriteLog, for verifiers, reads those lines back: every record a writer logged as stored must be
	// in the table. Nil: the check is not made (and the range report says so).
	WriteLog WriteLog
	// LegacyKeysBefore: a webhook event whose last_updated is before it is also looked for under the
	// key it had before the body hash joined the de-duplication key (see RecordIfNew). Zero: never.
	LegacyKeysBefore time.Time
}

// Store is the audit trail in the project's DynamoDB table. It only ever creates audit items; the one
// change it makes to an existing one is MarkPublished's removal of the outbox attributes. It is safe
// for concurrent use. Each Store is one writer: it numbers the records it writes (see doc.go), so
// make one per process (Lambda execution environment), not one per request.
type Store struct {
	cfg Config
	seq *sequencer
}

// New returns a store over cfg, a writer whose ID carries cfg.Now().
func New(cfg Config) *Store {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{cfg: cfg, seq: newSequencer(cfg.Now())}
}

// MaxPayload is the largest PHI part a record may hold: it and the record must fit in one DynamoDB
// item (400 KB). The 256 KiB webhook body fits; a large response should be audited by its lead IDs.
const MaxPayload = 300 << 10

var (
	// ErrExists is returned by Append when a record with that ID already exists (records are write-once).
	ErrExists = errors.New("audit: record already exists")
	// ErrNotFound is returned for a record that does not exist.
	ErrNotFound = errors.New("audit: record not found")
	// ErrPayloadTooLarge is returned for a PHI part over MaxPayload.
	ErrPayloadTooLarge = errors.New("audit: payload too large")
	// ErrNotConfigured is returned when an operation needs a part of Config that is not set.
	ErrNotConfigured = errors.New("audit: store not configured for this operation")
)

// aad is the additional authenticated data of a record's PHI part: the record's identity, so that a
// ciphertext copied into another record does not open. It holds no PHI (envelope implementations may
// log it, e.g. in a KMS encryption context).
func aad(recordID string) []byte {
	pk, _ := table.AuditKey(recordID)
	return []byte("wcbridge-audit/v1|" + pk)
}

// build completes r (ID, time), seals payload under r's identity and returns the item with its hash.
// extra adds the index attributes of an accepted event before hashing.
func (s *Store) build(ctx context.Context, r Record, payload []byte, extra func(Record, map[string]types.AttributeValue)) (Record, map[string]types.AttributeValue, error) {
	if r.ID == "" {
		r.ID = NewRecordID()
	}
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = s.cfg.Now()
	}
	r.ReceivedAt = r.ReceivedAt.UTC().Round(0)
	if err := r.validate(); err != nil {
		return Record{}, nil, err
	}
	r.Sealed, r.Hash, r.Pending = nil, "", false
	if len(payload) > 0 {
		if len(payload) > MaxPayload {
			return Record{}, nil, fmt.Errorf("%w: %d bytes, at most %d", ErrPayloadTooLarge, len(payload), MaxPayload)
		}
		if s.cfg.Sealer == nil {
			return Record{}, nil, fmt.Errorf("%w: no Sealer for the payload", ErrNotConfigured)
		}
		sealed, err := s.cfg.Sealer.Seal(ctx, aad(r.ID), payload)
		if err != nil {
			return Record{}, nil, fmt.Errorf("audit: seal payload of record %s: %w", r.ID, err)
		}
		r.Sealed = sealed
	}
	if s.cfg.Tagger == nil {
		return Record{}, nil, fmt.Errorf("%w: no Tagger: every record is tagged", ErrNotConfigured)
	}
	// From here the number is taken: a record not built, like one not stored, is declared skipped
	// by the writer's next records (the caller settles a built record after its write).
	r.Writer = s.seq.id
	r.Seq, r.Skipped = s.seq.next()
	item := marshal(r)
	if extra != nil {
		extra(r, item)
	}
	h, err := RecordHash(item)
	if err != nil {
		s.seq.settle(r.Seq, r.Skipped, false)
		return Record{}, nil, fmt.Errorf("audit: hash record %s: %w", r.ID, err)
	}
	item[attrHash] = sAttr(h)
	r.Hash = h
	wrapped, tag, err := s.cfg.Tagger.Tag(ctx, TagMessage(h))
	if err != nil {
		s.seq.settle(r.Seq, r.Skipped, false)
		return Record{}, nil, fmt.Errorf("audit: tag record %s: %w", r.ID, err)
	}
	item[attrTag] = &types.AttributeValueMemberB{Value: tag}
	item[attrTagKey] = &types.AttributeValueMemberB{Value: wrapped}
	_, r.Pending = item[table.OutboxPK]
	return r, item, nil
}

// Append writes r once, with its PHI part (payload, may be nil) sealed under the record's identity,
// and returns the record as stored (ID and ReceivedAt filled in when zero, Sealed, Hash). The write is
// conditional on the ID being new: an Append of another record under an existing ID fails with
// ErrExists and changes nothing; the SDK's retry of this very write succeeds (see create). Any error
// means nothing is recorded, and the caller must fail its request.
func (s *Store) Append(ctx context.Context, r Record, payload []byte) (Record, error) {
	r, item, err := s.build(ctx, r, payload, nil)
	if err != nil {
		return Record{}, err
	}
	err = s.create(ctx, item, r.Hash)
	s.settle(ctx, r, err == nil)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return Record{}, fmt.Errorf("%w: %s", ErrExists, r.ID)
	}
	if err != nil {
		return Record{}, fmt.Errorf("audit: write record %s: %w", r.ID, err)
	}
	return r, nil
}

// settle ends a write of r: the writer's sequence learns its outcome, and a record stored is logged
// (StoredLogMessage), after the write, so that every line names a record the table held.
func (s *Store) settle(ctx context.Context, r Record, stored bool) {
	s.seq.settle(r.Seq, r.Skipped, stored)
	if stored && s.cfg.Log != nil {
		// Handled whatever the logger's level: the line is evidence, not a diagnostic.
		line := slog.NewRecord(s.cfg.Now(), slog.LevelInfo, StoredLogMessage, 0)
		line.AddAttrs(slog.String(LogWriter, r.Writer), slog.Int64(LogSeq, r.Seq), slog.String(LogPeriod, PeriodOf(r.ReceivedAt)))
		_ = s.cfg.Log.Handler().Handle(ctx, line) // a line lost is a check not made, never a false finding
	}
}

// create writes a new record: one PutItem of item, conditional on its key holding no item or the very
// record being written (table.OrOwnRetry with its hash). Any other record under the key has another
// hash: Append's IDs are random (130 bits), and a redelivery differs from the first delivery in its
// request ID, time and sealed body (random nonce). A retry that lands after the sweep's MarkPublished
// puts the event back on the outbox, outside the hash: it is published again with the same event_id,
// as at-least-once delivery allows.
func (s *Store) create(ctx context.Context, item map[string]types.AttributeValue, hash string) error {
	names := map[string]string{"#pk": table.PK}
	values := map[string]types.AttributeValue{}
	_, err := s.cfg.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.cfg.Table),
		Item:                      item,
		ConditionExpression:       table.OrOwnRetry("attribute_not_exists(#pk)", attrHash, sAttr(hash), names, values),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	return err
}

// RecordIfNew records an accepted webhook event unless an event with the same de-duplication key is
// already recorded, in one conditional write. The event's ID is EventID(key) and is the record's ID,
// so the write itself is the de-duplication: it is race-free, it holds as long as the record is kept
// (six years, well over the 72 hours required), and a duplicate learns the first event's ID without a
// read. isNew is false for a duplicate; the caller then audits the delivery itself with Append (Kind
// webhook, Outcome duplicate, EventID eventID, no payload). The SDK's retry of this request's own
// write is new, not a duplicate (see create).
//
// The record is completed from key (ID, EventID, Kind webhook, Outcome ok, Trigger, ProfileID,
// LeadIDs, LastUpdated; Action and Actor default to the trigger and WebhookActor), put on the
// by-trigger index (trigger samples) and on the outbox (until MarkPublished). Set r.ReceivedAt to the
// time the bus event will carry; it defaults to the store's clock.
//
// Records written before the body hash joined the key are named by the key's legacy form (profile,
// lead, trigger, last_updated), and a delivery they de-duplicated must stay a duplicate. Such a record
// can only hold a state whose last_updated precedes the switch to this code, so only a key whose
// LastUpdated is before Config.LegacyKeysBefore is looked for there first (see existsLegacy); found,
// the delivery is a duplicate of that event. No record is written under a legacy ID any more, so the
// look-up and the write that follows cannot race with another delivery.
func (s *Store) RecordIfNew(ctx context.Context, key DedupeKey, r Record, payload []byte) (eventID string, isNew bool, err error) {
	if err := key.validate(); err != nil {
		return "", false, err
	}
	if legacy, ok := key.legacy(); ok && key.LastUpdated.Before(s.cfg.LegacyKeysBefore) {
		id := eventIDOf(legacy)
		found, err := s.exists(ctx, id)
		if err != nil {
			return "", false, err
		}
		if found {
			return id, false, nil
		}
	}
	r, item, err := s.eventItem(ctx, key, r, payload)
	if err != nil {
		return "", false, err
	}
	err = s.create(ctx, item, r.Hash)
	s.settle(ctx, r, err == nil) // a duplicate's number is declared skipped too
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		// Another delivery's record holds the event's ID: this is a redelivery.
		return r.ID, false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("audit: write event %s: %w", r.ID, err)
	}
	return r.ID, true, nil
}

// exists reports whether an audit record with this ID is stored, without reading it: an UpdateItem
// that changes nothing (no update expression), conditional on the item existing. The roles that write
// webhook events may not read records (no GetItem), and dynalite has no transactions for a
// ConditionCheck, so the condition's verdict is the answer; the item is left as it was.
func (s *Store) exists(ctx context.Context, id string) (bool, error) {
	pk, sk := table.AuditKey(id)
	_, err := s.cfg.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.cfg.Table),
		Key:                      map[string]types.AttributeValue{table.PK: sAttr(pk), table.SK: sAttr(sk)},
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": table.PK},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("audit: look for event %s: %w", id, err)
	}
	return true, nil
}

// MarkPublished takes an event off the outbox once it is on the bus, by removing its outbox index
// attributes (outbox_pk, outbox_sk). This is the only change the store ever makes to an existing
// audit item, and those two attributes are outside the record's hash, so it leaves the record's
// content and tamper evidence intact. Marking an event twice is harmless; an unknown ID is ErrNotFound.
func (s *Store) MarkPublished(ctx context.Context, eventID string) error {
	if !validID(eventID) {
		return fmt.Errorf("%w: event id must be 1-64 characters of [A-Za-z0-9_-]", ErrInvalidRecord)
	}
	pk, sk := table.AuditKey(eventID)
	_, err := s.cfg.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.cfg.Table),
		Key:                      map[string]types.AttributeValue{table.PK: sAttr(pk), table.SK: sAttr(sk)},
		UpdateExpression:         aws.String("REMOVE #opk, #osk"),
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": table.PK, "#opk": table.OutboxPK, "#osk": table.OutboxSK},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("%w: %s", ErrNotFound, eventID)
	}
	if err != nil {
		return fmt.Errorf("audit: mark event %s published: %w", eventID, err)
	}
	return nil
}

// Get reads one record (strongly consistent), without opening its PHI part.
func (s *Store) Get(ctx context.Context, id string) (Record, error) {
	if !validID(id) {
		return Record{}, fmt.Errorf("%w: id must be 1-64 characters of [A-Za-z0-9_-]", ErrInvalidRecord)
	}
	pk, sk := table.AuditKey(id)
	out, err := s.cfg.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.cfg.Table),
		Key:            map[string]types.AttributeValue{table.PK: sAttr(pk), table.SK: sAttr(sk)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Record{}, fmt.Errorf("audit: read record %s: %w", id, err)
	}
	if out.Item == nil {
		return Record{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return unmarshal(out.Item)
}

// OpenPayload decrypts a record's PHI part with the Opener (kms:Decrypt). It is separate from the
// queries so that listing and counting records needs no decryption. A record without a PHI part
// gives nil. A ciphertext that was moved from another record does not open.
func (s *Store) OpenPayload(ctx context.Context, r Record) ([]byte, error) {
	if r.Sealed == nil {
		return nil, nil
	}
	if s.cfg.Opener == nil {
		return nil, fmt.Errorf("%w: no Opener", ErrNotConfigured)
	}
	p, err := s.cfg.Opener.Open(ctx, aad(r.ID), r.Sealed)
	if err != nil {
		return nil, fmt.Errorf("audit: open payload of record %s: %w", r.ID, err)
	}
	return p, nil
}

// EventItem is the item RecordIfNew writes for an accepted event without a PHI part: for bulk loads
// (BatchWriteItem) of events, as the replay's tests seed their tables. It writes nothing, but takes
// the writer's next number: the caller must store every item it is given, or leave a hole the
// verifier reports.
func (s *Store) EventItem(key DedupeKey, r Record) (map[string]types.AttributeValue, error) {
	r, item, err := s.eventItem(context.Background(), key, r, nil)
	if err == nil {
		s.seq.settle(r.Seq, r.Skipped, true)
	}
	return item, err
}

// eventItem completes an accepted event's record from its de-duplication key and builds its item,
// on the by-trigger index (trigger samples, replays) and on the outbox (until MarkPublished).
func (s *Store) eventItem(ctx context.Context, key DedupeKey, r Record, payload []byte) (Record, map[string]types.AttributeValue, error) {
	if err := key.validate(); err != nil {
		return Record{}, nil, err
	}
	r.ID = EventID(key)
	r.EventID = r.ID
	r.Kind, r.Outcome = KindWebhook, OutcomeOK
	r.Trigger, r.ProfileID, r.LeadIDs = key.Trigger, key.ProfileID, []int64{key.LeadID}
	if r.LastUpdated.IsZero() {
		r.LastUpdated = key.LastUpdated
	}
	if r.Action == "" {
		r.Action = key.Trigger
	}
	if r.Actor == "" {
		r.Actor = WebhookActor
	}
	return s.build(ctx, r, payload, func(r Record, item map[string]types.AttributeValue) {
		shard := table.ShardOf(r.ID)
		isk := table.IndexSortKey(r.ReceivedAt, r.ID)
		item[table.TriggerPK] = sAttr(table.TriggerPartition(r.Trigger, table.Day(r.ReceivedAt), shard))
		item[table.TriggerSK] = sAttr(isk)
		item[table.OutboxPK] = sAttr(table.OutboxPartition(shard))
		item[table.OutboxSK] = sAttr(isk)
	})
}
