package sim

// The vocabularies generated worlds draw from. A domain is a set of entity
// types; every name a world shows (tools, arguments, id prefixes, states,
// error wording) is drawn from these lists at random, so no two worlds
// look alike and nothing can be tuned to one.

// domainWords is one business domain.
type domainWords struct {
	name     string
	userPfx  []string // prefixes of the ids of the people tasks are done for
	entities []entityWords
	// purposes are verbs of the task texts ("Process", "Reconcile").
	purposes []string
}

// entityWords is one entity type of a domain.
type entityWords struct {
	nouns    []string // singular, snake_case synonyms; one is drawn
	prefixes []string // id prefixes, 2-4 upper-case letters
	digits   int      // id digits
	// states an entity can be found in that some tools refuse, each with
	// the verb of the step that clears it.
	states []stateWords
	attrs  []string // keys of attrTable the entity's writes may carry
}

type stateWords struct{ state, fix string }

// attrWords is a kind of non-key argument.
type attrWords struct {
	names  []string // snake_case synonyms
	kind   string
	values []string // for enums and labels
}

var attrTable = map[string]attrWords{
	"amount":    {names: []string{"amount", "total", "value", "sum", "charge"}, kind: KindMoney},
	"quantity":  {names: []string{"quantity", "qty", "units", "count", "pieces"}, kind: KindInt},
	"date":      {names: []string{"date", "scheduled_for", "due_date", "effective_date", "target_date"}, kind: KindDate},
	"at":        {names: []string{"scheduled_at", "starts_at", "run_at", "at_time"}, kind: KindTimestamp},
	"email":     {names: []string{"email", "contact_email", "notify_email", "recipient"}, kind: KindEmail},
	"note":      {names: []string{"note", "comment", "memo", "remarks", "summary"}, kind: KindMemo},
	"priority":  {names: []string{"priority", "urgency", "severity_level"}, kind: KindLabel, values: []string{"low", "normal", "high", "urgent"}},
	"channel":   {names: []string{"channel", "via", "medium"}, kind: KindLabel, values: []string{"email", "sms", "phone", "portal"}},
	"category":  {names: []string{"category", "type", "class"}, kind: KindEnum, values: []string{"standard", "express", "bulk", "special"}},
	"weight":    {names: []string{"weight", "mass", "gross_weight"}, kind: KindWeight},
	"duration":  {names: []string{"duration", "length", "timeout", "window"}, kind: KindDuration},
	"percent":   {names: []string{"discount", "rate", "share", "ratio"}, kind: KindPercent},
	"version":   {names: []string{"version", "release", "build"}, kind: KindVersion},
	"reference": {names: []string{"reference", "external_ref", "ref_code"}, kind: KindToken},
}

// contextWords are arguments whose right value depends on the user the task
// is done for; Default is what an agent writes when it ignores that.
type contextWords struct {
	names []string
	kind  string
	def   string
	field string // the User field: currency, region, residency, method
}

var contextTable = []contextWords{
	{names: []string{"currency", "currency_code", "ccy"}, kind: KindCode, def: "USD", field: "currency"},
	{names: []string{"region", "data_region", "zone"}, kind: KindEnum, def: "us", field: "region"},
	{names: []string{"residency", "data_residency", "storage_region"}, kind: KindEnum, def: "us", field: "residency"},
	{names: []string{"billing_method", "payment_method", "pay_by"}, kind: KindEnum, def: "card", field: "method"},
}

// pairWords are argument pairs whose values must be in order.
var pairWords = [][2]string{
	{"start_date", "end_date"}, {"valid_from", "valid_until"}, {"from_date", "to_date"},
	{"window_start", "window_end"}, {"begins_on", "ends_on"}, {"check_in", "check_out"},
}

// tokenWords are values a read reveals and a later write must copy.
var tokenWords = []struct{ name, prefix string }{
	{"etag", "etg"}, {"version_token", "vt"}, {"revision", "rev"}, {"lock_token", "lck"},
	{"if_match", "im"}, {"change_key", "ck"}, {"quote_id", "qt"}, {"nonce", "nce"},
}

// Verbs by what the step does.
var (
	readVerbs = []string{"get", "fetch", "lookup", "read", "describe", "show", "retrieve", "view", "inspect"}
	opVerbs   = map[string][]string{
		"create":   {"create", "add", "open", "register"},
		"update":   {"update", "modify", "amend", "edit", "change"},
		"process":  {"process", "submit", "apply", "post", "execute"},
		"approve":  {"approve", "confirm", "authorize", "accept"},
		"assign":   {"assign", "allocate", "attach", "link"},
		"schedule": {"schedule", "book", "plan", "reserve"},
		"transfer": {"transfer", "move", "dispatch", "transmit"},
		"finish":   {"finalize", "complete", "settle", "close"},
		"cancel":   {"cancel", "void", "revoke", "terminate"},
	}
	opOrder    = []string{"create", "update", "process", "approve", "assign", "schedule", "transfer", "finish", "cancel"}
	notifyVerb = []string{"notify", "send", "message", "alert"}
	// Steps rules make necessary before another: verify, lock, validate.
	auxVerbs = []string{"verify", "validate", "lock", "authorize", "precheck", "reserve", "acknowledge", "open_session_for"}
	// Names a tool's successor or predecessor takes.
	legacyStyles = []string{"legacy_%s", "%s_v1", "old_%s", "%s_deprecated"}
	renameStyles = []string{"%s_v2", "%s2", "new_%s", "%s_next"}
	// Short free texts tasks put in memo arguments (at most 36 characters).
	memoTexts = []string{
		"customer asked to expedite", "per phone call today", "see ticket thread", "approved by team lead",
		"second attempt", "follow-up from audit", "requested by finance", "urgent per manager",
		"part of quarterly review", "duplicate of earlier request", "handled by night shift", "waiting on supplier",
	}
	genFirst  = []string{"ana", "tom", "li", "omar", "sara", "jon", "mia", "raj", "eva", "ken", "ines", "paul", "yuki", "zoe"}
	genLast   = []string{"silva", "berg", "wei", "haddad", "novak", "kim", "lopez", "meyer", "okafor", "rossi", "sato", "dubois"}
	mailHosts = []string{"mail.example", "corp.example", "inbox.example", "post.example"}
)

var domains = []domainWords{
	{name: "commerce back office", userPfx: []string{"CUS", "CST", "ACCT"}, purposes: []string{"Process", "Handle", "Work through", "Resolve"},
		entities: []entityWords{
			{nouns: []string{"order", "purchase", "sales_order"}, prefixes: []string{"ORD", "SO", "PO"}, digits: 6,
				states: []stateWords{{"on_hold", "release"}, {"flagged", "clear_flag"}}, attrs: []string{"amount", "note", "priority", "date"}},
			{nouns: []string{"line_item", "order_line", "item"}, prefixes: []string{"LI", "LN", "ITM"}, digits: 5,
				states: []stateWords{{"backordered", "reallocate"}, {"locked", "unlock"}}, attrs: []string{"quantity", "amount", "category", "note"}},
			{nouns: []string{"refund", "credit_note", "reimbursement"}, prefixes: []string{"RFD", "CRN"}, digits: 5,
				states: []stateWords{{"disputed", "resolve_dispute"}}, attrs: []string{"amount", "note", "channel"}},
			{nouns: []string{"shipment", "parcel", "package"}, prefixes: []string{"SHP", "PCL", "PKG"}, digits: 6,
				states: []stateWords{{"held_at_customs", "clear_customs"}, {"damaged", "file_claim"}}, attrs: []string{"weight", "date", "category"}},
			{nouns: []string{"invoice", "bill"}, prefixes: []string{"INV", "BIL"}, digits: 6,
				states: []stateWords{{"overdue", "reopen"}}, attrs: []string{"amount", "date", "note"}},
			{nouns: []string{"coupon", "voucher", "promo"}, prefixes: []string{"CPN", "VCH"}, digits: 4,
				states: []stateWords{{"expired", "reactivate"}}, attrs: []string{"percent", "date"}},
		}},
	{name: "human resources", userPfx: []string{"EMP", "HR", "STF"}, purposes: []string{"Onboard", "Process", "Update", "Handle"},
		entities: []entityWords{
			{nouns: []string{"employee", "worker", "staff_member"}, prefixes: []string{"EMP", "WRK"}, digits: 5,
				states: []stateWords{{"suspended", "reinstate"}, {"on_leave", "end_leave"}}, attrs: []string{"email", "date", "note"}},
			{nouns: []string{"leave_request", "absence", "time_off"}, prefixes: []string{"LVR", "ABS", "PTO"}, digits: 5,
				states: []stateWords{{"escalated", "deescalate"}}, attrs: []string{"date", "duration", "note"}},
			{nouns: []string{"payslip", "payroll_entry", "pay_item"}, prefixes: []string{"PAY", "PSL"}, digits: 6,
				states: []stateWords{{"frozen", "unfreeze"}}, attrs: []string{"amount", "date", "percent"}},
			{nouns: []string{"position", "job_opening", "role"}, prefixes: []string{"POS", "JOB"}, digits: 4,
				states: []stateWords{{"on_hold", "resume"}}, attrs: []string{"amount", "priority", "note"}},
			{nouns: []string{"training", "course_enrolment", "certification"}, prefixes: []string{"TRN", "CRT"}, digits: 4,
				states: []stateWords{{"lapsed", "renew"}}, attrs: []string{"date", "duration", "channel"}},
			{nouns: []string{"contract", "agreement"}, prefixes: []string{"CTR", "AGR"}, digits: 5,
				states: []stateWords{{"under_review", "complete_review"}}, attrs: []string{"date", "amount", "note"}},
		}},
	{name: "logistics", userPfx: []string{"SHPR", "CLT", "ACC"}, purposes: []string{"Dispatch", "Route", "Process", "Consolidate"},
		entities: []entityWords{
			{nouns: []string{"consignment", "load", "freight_order"}, prefixes: []string{"CSG", "LD", "FRT"}, digits: 6,
				states: []stateWords{{"held", "release_hold"}, {"inspected", "clear_inspection"}}, attrs: []string{"weight", "date", "priority"}},
			{nouns: []string{"pallet", "container", "crate"}, prefixes: []string{"PLT", "CNT", "CRT"}, digits: 5,
				states: []stateWords{{"quarantined", "release_quarantine"}, {"sealed", "unseal"}}, attrs: []string{"weight", "quantity", "category"}},
			{nouns: []string{"route", "lane", "leg"}, prefixes: []string{"RTE", "LNE"}, digits: 4,
				states: []stateWords{{"blocked", "unblock"}}, attrs: []string{"duration", "date", "note"}},
			{nouns: []string{"driver", "carrier", "courier"}, prefixes: []string{"DRV", "CAR"}, digits: 4,
				states: []stateWords{{"off_duty", "activate"}}, attrs: []string{"channel", "at", "note"}},
			{nouns: []string{"dock_slot", "bay", "gate_slot"}, prefixes: []string{"DCK", "BAY"}, digits: 3,
				states: []stateWords{{"reserved", "free"}}, attrs: []string{"at", "duration"}},
			{nouns: []string{"customs_form", "declaration"}, prefixes: []string{"CUS", "DEC"}, digits: 6,
				states: []stateWords{{"rejected", "amend"}}, attrs: []string{"amount", "reference", "note"}},
		}},
	{name: "clinic scheduling", userPfx: []string{"PAT", "PT", "MRN"}, purposes: []string{"Schedule", "Arrange", "Coordinate", "Process"},
		entities: []entityWords{
			{nouns: []string{"appointment", "visit", "booking"}, prefixes: []string{"APT", "VIS", "BKG"}, digits: 6,
				states: []stateWords{{"tentative", "confirm_slot"}, {"locked", "unlock"}}, attrs: []string{"at", "duration", "note"}},
			{nouns: []string{"referral", "order_set", "request"}, prefixes: []string{"REF", "ORS", "REQ"}, digits: 5,
				states: []stateWords{{"pending_auth", "obtain_auth"}}, attrs: []string{"priority", "note", "date"}},
			{nouns: []string{"lab_test", "test", "panel"}, prefixes: []string{"LAB", "TST"}, digits: 5,
				states: []stateWords{{"recalled", "rerun"}}, attrs: []string{"category", "date", "priority"}},
			{nouns: []string{"prescription", "medication_order"}, prefixes: []string{"RX", "MED"}, digits: 6,
				states: []stateWords{{"on_hold", "release"}}, attrs: []string{"quantity", "duration", "note"}},
			{nouns: []string{"room", "exam_room", "suite"}, prefixes: []string{"RM", "EXR"}, digits: 3,
				states: []stateWords{{"cleaning", "mark_clean"}}, attrs: []string{"at", "duration"}},
			{nouns: []string{"claim", "insurance_claim"}, prefixes: []string{"CLM", "INS"}, digits: 6,
				states: []stateWords{{"denied", "appeal"}}, attrs: []string{"amount", "reference", "note"}},
		}},
	{name: "cloud operations", userPfx: []string{"TEN", "PRJ", "ORG"}, purposes: []string{"Roll out", "Provision", "Migrate", "Operate"},
		entities: []entityWords{
			{nouns: []string{"deployment", "release", "rollout"}, prefixes: []string{"DEP", "REL", "RLT"}, digits: 5,
				states: []stateWords{{"paused", "resume"}, {"locked", "unlock"}}, attrs: []string{"version", "percent", "note"}},
			{nouns: []string{"instance", "vm", "node"}, prefixes: []string{"INS", "VM", "ND"}, digits: 6,
				states: []stateWords{{"draining", "undrain"}, {"stopped", "start"}}, attrs: []string{"category", "duration", "quantity"}},
			{nouns: []string{"volume", "disk", "bucket"}, prefixes: []string{"VOL", "DSK", "BKT"}, digits: 5,
				states: []stateWords{{"read_only", "make_writable"}}, attrs: []string{"quantity", "category", "note"}},
			{nouns: []string{"alert", "incident", "page"}, prefixes: []string{"ALR", "INC", "PG"}, digits: 5,
				states: []stateWords{{"silenced", "unsilence"}}, attrs: []string{"priority", "note", "channel"}},
			{nouns: []string{"certificate", "cert", "tls_cert"}, prefixes: []string{"CRT", "TLS"}, digits: 4,
				states: []stateWords{{"expired", "renew"}}, attrs: []string{"date", "duration"}},
			{nouns: []string{"backup", "snapshot"}, prefixes: []string{"BKP", "SNP"}, digits: 6,
				states: []stateWords{{"locked", "release_lock"}}, attrs: []string{"at", "duration", "note"}},
		}},
	{name: "banking", userPfx: []string{"CIF", "CLI", "BNK"}, purposes: []string{"Process", "Settle", "Review", "Execute"},
		entities: []entityWords{
			{nouns: []string{"account", "ledger_account", "wallet"}, prefixes: []string{"ACC", "LDG", "WAL"}, digits: 8,
				states: []stateWords{{"frozen", "unfreeze"}, {"dormant", "reactivate"}}, attrs: []string{"amount", "note", "channel"}},
			{nouns: []string{"payment", "transfer", "remittance"}, prefixes: []string{"PMT", "TRF", "RMT"}, digits: 7,
				states: []stateWords{{"flagged", "clear_review"}}, attrs: []string{"amount", "date", "reference"}},
			{nouns: []string{"card", "debit_card"}, prefixes: []string{"CRD", "DC"}, digits: 6,
				states: []stateWords{{"blocked", "unblock"}}, attrs: []string{"amount", "channel", "note"}},
			{nouns: []string{"loan", "credit_line", "facility"}, prefixes: []string{"LN", "CRL", "FAC"}, digits: 6,
				states: []stateWords{{"in_arrears", "restructure"}}, attrs: []string{"amount", "percent", "date"}},
			{nouns: []string{"standing_order", "mandate", "direct_debit"}, prefixes: []string{"STO", "MND", "DD"}, digits: 6,
				states: []stateWords{{"suspended", "reinstate"}}, attrs: []string{"amount", "date", "note"}},
			{nouns: []string{"statement", "report"}, prefixes: []string{"STM", "RPT"}, digits: 5,
				states: []stateWords{{"sealed", "unseal"}}, attrs: []string{"date", "channel"}},
		}},
	{name: "ticketing", userPfx: []string{"REQ", "USR", "CTC"}, purposes: []string{"Triage", "Resolve", "Handle", "Work"},
		entities: []entityWords{
			{nouns: []string{"ticket", "case", "issue"}, prefixes: []string{"TCK", "CAS", "ISS"}, digits: 5,
				states: []stateWords{{"escalated", "deescalate"}, {"merged", "unmerge"}}, attrs: []string{"priority", "note", "channel"}},
			{nouns: []string{"task", "subtask", "work_item"}, prefixes: []string{"TSK", "WI"}, digits: 5,
				states: []stateWords{{"blocked", "unblock"}}, attrs: []string{"priority", "duration", "note"}},
			{nouns: []string{"seat", "license", "entitlement"}, prefixes: []string{"LIC", "ENT", "STT"}, digits: 4,
				states: []stateWords{{"revoked", "restore"}}, attrs: []string{"quantity", "date"}},
			{nouns: []string{"event_ticket", "admission", "pass"}, prefixes: []string{"ETK", "ADM", "PSS"}, digits: 6,
				states: []stateWords{{"reserved", "release"}, {"checked_in", "undo_check_in"}}, attrs: []string{"category", "amount", "at"}},
			{nouns: []string{"survey", "feedback_form"}, prefixes: []string{"SRV", "FBK"}, digits: 4,
				states: []stateWords{{"closed", "reopen"}}, attrs: []string{"date", "channel"}},
			{nouns: []string{"queue", "team_queue"}, prefixes: []string{"QUE", "TQ"}, digits: 3,
				states: []stateWords{{"paused", "resume"}}, attrs: []string{"priority", "duration"}},
		}},
	{name: "education", userPfx: []string{"STU", "LRN", "PUP"}, purposes: []string{"Enrol", "Grade", "Schedule", "Process"},
		entities: []entityWords{
			{nouns: []string{"enrolment", "registration", "admission"}, prefixes: []string{"ENR", "REG", "ADM"}, digits: 6,
				states: []stateWords{{"on_hold", "release_hold"}, {"provisional", "confirm"}}, attrs: []string{"date", "amount", "note"}},
			{nouns: []string{"course", "module", "class"}, prefixes: []string{"CRS", "MOD", "CLS"}, digits: 4,
				states: []stateWords{{"full", "extend_capacity"}}, attrs: []string{"quantity", "date", "category"}},
			{nouns: []string{"assignment", "submission", "coursework"}, prefixes: []string{"ASG", "SUB", "CWK"}, digits: 5,
				states: []stateWords{{"late", "grant_extension"}, {"locked", "unlock"}}, attrs: []string{"percent", "at", "note"}},
			{nouns: []string{"exam", "assessment", "test_sitting"}, prefixes: []string{"EXM", "ASM"}, digits: 5,
				states: []stateWords{{"under_review", "close_review"}}, attrs: []string{"at", "duration", "priority"}},
			{nouns: []string{"transcript", "record"}, prefixes: []string{"TRS", "REC"}, digits: 6,
				states: []stateWords{{"sealed", "unseal"}}, attrs: []string{"date", "channel"}},
			{nouns: []string{"fee", "tuition_charge"}, prefixes: []string{"FEE", "TUI"}, digits: 6,
				states: []stateWords{{"disputed", "resolve_dispute"}}, attrs: []string{"amount", "date", "note"}},
		}},
}
