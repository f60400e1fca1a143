package wcsim

// Request values (snake_case, what clients send) and the display values WhatConverts answers with.
var (
	leadTypes = map[string]string{
		"appointment":  "Appointment",
		"chat":         "Chat",
		"email":        "Email",
		"event":        "Event",
		"other":        "Other",
		"phone_call":   "Phone Call",
		"text_message": "Text Message",
		"transaction":  "Transaction",
		"web_form":     "Web Form",
	}
	quotables = map[string]string{
		"yes":     "Yes",
		"no":      "No",
		"pending": "Pending",
		"not_set": "Not Set",
	}
	leadStatuses = map[string]string{
		"unique": "Unique",
		"repeat": "Repeat",
	}
)

// Display values used by the generator and the create handler.
const (
	typePhoneCall   = "Phone Call"
	typeWebForm     = "Web Form"
	typeChat        = "Chat"
	typeTextMessage = "Text Message"
	typeEmail       = "Email"
	typeAppointment = "Appointment"
	typeTransaction = "Transaction"
	typeEvent       = "Event"
	typeOther       = "Other"

	quotableNotSet = "Not Set"
	statusUnique   = "Unique"
	statusRepeat   = "Repeat"
	stateCompleted = "Completed"
	stateProgress  = "In Progress"
)

// fieldOrder is the order in which lead objects list their fields, following WhatConverts' published
// webhook examples (the fixtures), so that payloads read like real ones. Fields not listed follow,
// sorted by name. JSON object order means nothing to a decoder; this is for people reading payloads.
var fieldOrder = []string{
	"trigger",
	"account_id", "account", "profile_id", "profile",
	"lead_id", "user_id", "lead_type", "lead_status", "lead_analysis",
	"last_updated", "date_created",
	"quotable", "quote_value", "sales_value", "spotted_keywords", "lead_score", "lead_state",
	"lead_url", "landing_url",
	"operating_system", "browser", "device_type", "device_make",
	"lead_source", "lead_medium", "lead_campaign", "lead_content", "lead_keyword",
	"ip_address", "notes",
	"contact_name", "contact_company_name", "contact_email_address", "contact_phone_number",
	"email_address", "phone_number",
	"city", "state", "zip", "country",
	// Phone Call / Text Message
	"call_status", "phone_name", "tracking_number", "destination_number",
	"caller_number", "caller_name", "caller_city", "caller_state", "caller_zip", "caller_country",
	"call_duration", "call_duration_seconds", "answer_status", "line_type",
	"recording", "play_recording", "voicemail", "play_voicemail",
	"call_transcription", "voicemail_transcription", "message",
	// Web Form, Chat, Email, Event, Transaction
	"form_name", "chat_status",
	"sender_name", "email_subject", "email_message",
	"event_category", "event_action", "event_label",
	"transaction_id", "transaction_tax", "transaction_shipping",
	"additional_fields", "field_mappings", "custom_fields",
	// click and visitor ids
	"gclid", "msclkid", "unbounce_page_id", "unbounce_variant_id", "unbounce_visitor_id",
	"salesforce_user_id", "roistat_visit_id", "hubspot_visitor_id",
	"facebook_browser_id", "facebook_click_id", "google_analytics_client_id",
	"vwo_account_id", "vwo_experiment_id", "vwo_variant_id", "vwo_user_id",
	"customer_journey",
	"duplicate", "spam",
}

var fieldRank = func() map[string]int {
	m := make(map[string]int, len(fieldOrder))
	for i, k := range fieldOrder {
		m[k] = i
	}
	return m
}()
