package toolclass

import (
	"slices"
	"strings"
	"testing"
)

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"get_user_details", []string{"get", "user", "details"}},
		{"lookupOrder", []string{"lookup", "order"}},
		{"check-flight-status", []string{"check", "flight", "status"}},
		{"HTTPGetItem", []string{"http", "get", "item"}},
		{"crm.deleteContact", []string{"crm", "delete", "contact"}},
		{"v2ListItems", []string{"v", "2", "list", "items"}},
		{"  ", nil},
	} {
		if got := Words(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Words(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestInfer(t *testing.T) {
	for _, tc := range []struct {
		tool string
		want Class
	}{
		{"get_reservation_details", ReadOnly},
		{"list_all_airports", ReadOnly},
		{"searchDirectFlight", ReadOnly},
		{"find-user-id-by-email", ReadOnly},
		{"look_up_order", ReadOnly},
		{"crm.fetch_contact", ReadOnly},
		{"checkStatus", ReadOnly},
		{"cancel_reservation", Destructive},
		{"delete_all_users", Destructive},
		{"users.purge", Destructive},
		{"bulkRemoveItems", Destructive},
		{"revoke_token", Destructive},
		{"get_and_delete_item", Destructive}, // a destructive verb anywhere wins
		{"update_address", Writes},
		{"book_reservation", Writes},
		{"send_certificate", Writes},
		{"transfer_to_human_agents", Writes},
		{"think", Writes},
		{"user_get", Writes},             // the verb must lead
		{"update_view_settings", Writes}, // a reading word later does not make it read
		{"github/list_issues", ReadOnly},
		{"", Writes},
	} {
		if got := Infer(tc.tool); got != tc.want {
			t.Errorf("Infer(%q) = %s, want %s", tc.tool, got, tc.want)
		}
	}
}

func TestRefusal(t *testing.T) {
	p := &Policy{
		Declared:     map[string]Class{"archive_rows": ReadOnly, "get_secret_and_rotate": Writes},
		Replacements: map[string]map[string]bool{"reset_password": {"send_reset_link": true}},
	}
	none := func(string) bool { return false }
	for _, tc := range []struct {
		cand, tool string
		called     func(string) bool
		refused    bool
	}{
		{"update_address", "update_address", none, false},                                      // its own tool
		{"update_address", "get_user_details", none, false},                                    // read-only by name
		{"update_address", "archive_rows", none, false},                                        // read-only as declared
		{"update_address", "get_secret_and_rotate", none, true},                                // declared writes beats the name
		{"reset_password", "delete_all_users", none, true},                                     // destructive, never called
		{"reset_password", "send_reset_link", none, false},                                     // confirmed replacement
		{"update_address", "send_reset_link", none, true},                                      // confirmed for another tool only
		{"pay", "verify_account", func(s string) bool { return s == "verify_account" }, false}, // called in this run
		{"pay", "verify_account", nil, true},
	} {
		r := p.Refusal(tc.cand, tc.tool, tc.called)
		if (r != "") != tc.refused {
			t.Errorf("Refusal(%s → %s) = %q, want refused=%v", tc.cand, tc.tool, r, tc.refused)
		}
		if r != "" && !strings.Contains(r, tc.tool) {
			t.Errorf("refusal %q does not name %s", r, tc.tool)
		}
	}
	if got := p.ClassOf("get_secret_and_rotate"); !got.Declared || got.Class != Writes {
		t.Errorf("ClassOf declared = %+v", got)
	}
	var nilPolicy *Policy
	if got := nilPolicy.ClassOf("delete_x"); got.Declared || got.Class != Destructive {
		t.Errorf("nil policy ClassOf = %+v", got)
	}
}
