package sim

import (
	"fmt"
	"strconv"
	"strings"
)

var firstNames = []string{"ana", "tom", "li", "omar", "eva", "raj", "mia", "jon", "noa", "ivan", "zoe", "kai"}
var lastNames = []string{"silva", "berg", "wei", "haddad", "novak", "patel", "kim", "meyer", "costa", "sato"}

func accountFamily() *family {
	tools := []ToolSpec{
		{Name: "create_user", Doc: "create a directory account", Args: []ArgSpec{key("user_id", KindID), arg("email", KindEmail),
			ctxArg("residency", KindEnum, "us")}},
		{Name: "enable_mfa", Doc: "enrol a user in MFA", Args: []ArgSpec{key("user_id", KindID), arg("method", KindEnum)}},
		{Name: "assign_role", Doc: "give a user a role", Args: []ArgSpec{key("user_id", KindID), arg("role", KindEnum)}},
		{Name: "set_quota", Doc: "set a user's storage quota", Args: []ArgSpec{key("user_id", KindID), arg("storage_gb", KindInt)}},
		{Name: "send_welcome", Doc: "send the welcome email", Args: []ArgSpec{key("user_id", KindID), arg("email", KindEmail)}},
		{Name: "audit_group", Doc: "read a group's members for the audit log", Read: true, Args: []ArgSpec{key("group_id", KindID)}},
	}
	tools = append(tools, legacyPair("add_to_group", "add_user_to_group", "add a user to a group", false,
		key("user_id", KindID), key("group_id", KindID))...)
	isAdmin := func(_ *Env, st *PlanStep) bool { return st.Natural["role"] == "admin" }
	rules := []*Rule{
		requires("ac.mfa-for-admin", RulePrecondition, []string{"assign_role"}, "enable_mfa", []string{"user_id"}, isAdmin,
			ClassPermissionDenied, "admins must have MFA before the role is granted",
			msgf("cannot grant admin to user %s: MFA not enrolled (policy SEC-4)", "nat:user_id")),
		strictFormat("ac.email-lowercase", "create_user", "email", "the directory stores lower-case emails",
			msgf("email address for user %s must be lowercase (directory DIR-3)", "nat:user_id")),
		deprecated("ac.group-legacy", "add_user_to_group", "add_user_to_group was replaced by add_to_group",
			msgf("404 Not Found: add_user_to_group is not available in Directory API v2 (user %s)", "nat:user_id")),
		contextValue("ac.residency", "create_user", "residency", func(e *Env, _ *PlanStep) bool { return e.t.User.Residency != "us" },
			ClassPermissionDenied, "accounts of non-US organisations keep their data in region",
			msgf("user creation rejected for %s: organisation of %s requires in-region data residency (ORG-%d)", "nat:user_id", "user", "trace")),
		requires("ac.role-before-group", RuleOrdering, []string{"add_to_group"}, "assign_role", []string{"user_id"}, nil,
			ClassFailedPrecondition, "a user gets a role before joining groups",
			msgf("user %s has no role; group membership requires an assigned role", "nat:user_id")),
	}
	build := func(b *builder, units int) {
		groups := []string{b.param("group_1", b.id("GRP", 3)), b.param("group_2", b.id("GRP", 3))}
		for i := range units {
			uid := b.param(fmt.Sprintf("user_%d", i+1), b.id("UID", 5))
			email := b.param(fmt.Sprintf("email_%d", i+1), pick(b.rng, firstNames)+"."+pick(b.rng, lastNames)+"@corp.example")
			role := b.param(fmt.Sprintf("role_%d", i+1), pick(b.rng, []string{"viewer", "editor", "editor", "admin"}))
			b.step("create_user", "user_id", uid, "email", email, "residency", b.t.User.Residency)
			if role == "admin" {
				b.aux("ac.mfa-for-admin", "enable_mfa", "user_id", uid, "method", "totp")
			}
			b.step("assign_role", "user_id", uid, "role", role)
			b.step("add_to_group", "user_id", uid, "group_id", groups[i%2])
			b.step("set_quota", "user_id", uid, "storage_gb", strconv.Itoa(10*(1+b.rng.IntN(10))))
			b.step("send_welcome", "user_id", uid, "email", email)
		}
		for _, g := range groups[:min(2, units)] {
			b.step("audit_group", "group_id", g)
		}
		b.say("Onboard %d new accounts into groups %s.", units, strings.Join(groups, " and "))
	}
	return &family{name: "accounts", tools: tools, rules: rules, minUnits: 2, maxUnits: 12, build: build}
}

func billingFamily() *family {
	tools := []ToolSpec{
		{Name: "create_invoice", Doc: "open a draft invoice", Args: []ArgSpec{key("invoice_id", KindID), arg("customer_id", KindID),
			ctxArg("currency", KindCode, "USD"), arg("due", KindDate)}},
		{Name: "get_price", Doc: "read a SKU's list price", Read: true, Args: []ArgSpec{key("sku", KindID)}},
		{Name: "add_line_item", Doc: "add a line to an invoice", Args: []ArgSpec{key("invoice_id", KindID), key("sku", KindID),
			arg("qty", KindInt), arg("unit_price", KindMoney)}},
		{Name: "apply_discount", Doc: "apply a discount code", Args: []ArgSpec{key("invoice_id", KindID), arg("code", KindText)}},
		{Name: "set_tax_region", Doc: "set an invoice's tax region", Args: []ArgSpec{key("invoice_id", KindID), arg("region", KindEnum)}},
		{Name: "finalize_invoice", Doc: "finalize a draft invoice", Args: []ArgSpec{key("invoice_id", KindID)}},
		{Name: "record_payment", Doc: "record a payment against an invoice", Args: []ArgSpec{key("invoice_id", KindID), arg("amount", KindMoney)}},
	}
	tools = append(tools, legacyPair("send_invoice", "email_invoice", "send an invoice to the customer", false,
		key("invoice_id", KindID), arg("email", KindEmail))...)
	rules := []*Rule{
		requires("bl.tax-region", RulePrecondition, []string{"finalize_invoice"}, "set_tax_region", nil, nil, ClassFailedPrecondition,
			"invoices need a tax region before finalizing",
			msgf("invoice %s cannot be finalized: tax region not set (customer %s)", "nat:invoice_id", "param:customer")),
		driftFormat("bl.unit-price", "add_line_item", "unit_price", 1, "unit prices become integer minor units",
			msgf(`unit_price "%s" must have two decimal places (sku %s)`, "arg:unit_price", "nat:sku"),
			msgf(`unit_price "%s" rejected: Billing API v2 expects integer minor units (sku %s)`, "arg:unit_price", "nat:sku")),
		requires("bl.finalize-before-send", RuleOrdering, []string{"send_invoice"}, "finalize_invoice", nil, nil,
			ClassFailedPrecondition, "only finalized invoices can be sent",
			msgf("cannot send draft invoice %s; finalize it first (trace %d)", "nat:invoice_id", "trace")),
		contextValue("bl.currency", "create_invoice", "currency", nil, ClassInvalidArgument, "invoices use the customer's billing currency",
			msgf("currency %s does not match the billing currency of customer %s", "arg:currency", "param:customer")),
		deprecated("bl.email-invoice", "email_invoice", "email_invoice was replaced by send_invoice",
			msgf("email_invoice was removed in Billing API 2025-01; invoice %s not sent", "nat:invoice_id")),
		quota("bl.price-quota", "get_price", "one price lookup per SKU",
			msgf("429: price lookups limited to 1 per SKU per invoice (sku %s, trace %d)", "nat:sku", "trace")),
	}
	build := func(b *builder, units int) {
		cust := b.param("customer", b.id("CUS", 4))
		inv := b.param("invoice", b.id("INV", 5))
		email := b.param("email", "billing@"+pick(b.rng, []string{"acme", "globex", "initech", "umbrella"})+".example")
		b.step("create_invoice", "invoice_id", inv, "customer_id", cust, "currency", b.t.User.Currency, "due", b.date())
		total := 0
		for i := range units {
			sku := b.param(fmt.Sprintf("sku_%d", i+1), b.id("SKU", 4))
			qty, cents := 1+b.rng.IntN(5), 100*(5+b.rng.IntN(200))+25*b.rng.IntN(4)
			total += qty * cents
			b.step("get_price", "sku", sku)
			b.step("add_line_item", "invoice_id", inv, "sku", sku, "qty", strconv.Itoa(qty), "unit_price", fmt.Sprintf("%d.%02d", cents/100, cents%100))
		}
		b.step("apply_discount", "invoice_id", inv, "code", "SPRING25")
		b.aux("bl.tax-region", "set_tax_region", "invoice_id", inv, "region", b.t.User.Region)
		b.step("finalize_invoice", "invoice_id", inv)
		b.step("send_invoice", "invoice_id", inv, "email", email)
		b.step("record_payment", "invoice_id", inv, "amount", b.param("amount", fmt.Sprintf("%d.%02d", total/100, total%100)))
		b.say("Invoice customer %s for %d items on invoice %s with discount SPRING25, send it to %s and record the payment.", cust, units, inv, email)
	}
	return &family{name: "billing", tools: tools, rules: rules, minUnits: 2, maxUnits: 27, build: build}
}

// warehouses and their countries; a transfer across a border needs customs.
var warehouses = map[string]string{"WH-12": "de", "WH-31": "uk", "WH-44": "de", "WH-57": "fr", "WH-63": "uk"}
var warehouseIDs = []string{"WH-12", "WH-31", "WH-44", "WH-57", "WH-63"}

func inventoryFamily() *family {
	tools := []ToolSpec{
		{Name: "check_stock", Doc: "read stock of a SKU in a warehouse", Read: true, Args: []ArgSpec{key("sku", KindID), key("warehouse_id", KindID)}},
		{Name: "transfer_stock", Doc: "move stock between warehouses", Args: []ArgSpec{key("sku", KindID), arg("from_wh", KindID), arg("to_wh", KindID), arg("qty", KindInt)}},
		{Name: "create_customs_declaration", Doc: "declare goods crossing a border", Args: []ArgSpec{key("sku", KindID), arg("from_wh", KindID), arg("to_wh", KindID)}},
		{Name: "validate_address", Doc: "validate an order's delivery address", Args: []ArgSpec{key("order_id", KindID)}},
		{Name: "create_shipment", Doc: "create a shipment for an order", Args: []ArgSpec{key("order_id", KindID), arg("carrier", KindEnum), arg("weight", KindWeight)}},
		{Name: "print_label", Doc: "print a shipping label", Args: []ArgSpec{key("order_id", KindID)}, Alt: "generate_label"},
		{Name: "generate_label", Doc: "generate a shipping label (WMS 10)", Args: []ArgSpec{key("order_id", KindID)}, Alt: "print_label"},
		{Name: "schedule_pickup", Doc: "book a carrier pickup", Args: []ArgSpec{key("carrier", KindEnum), arg("date", KindDate)}},
	}
	tools = append(tools, legacyPair("reserve_stock", "allocate_inventory", "reserve stock for an order", false,
		key("sku", KindID), arg("qty", KindInt), key("warehouse_id", KindID))...)
	crossBorder := func(_ *Env, st *PlanStep) bool {
		return warehouses[st.Natural["from_wh"]] != warehouses[st.Natural["to_wh"]]
	}
	rules := []*Rule{
		strictFormat("iv.weight-format", "create_shipment", "weight", "weights are kilograms with two decimals",
			msgf(`weight "%s" invalid for order %s: expected kilograms with two decimals`, "arg:weight", "nat:order_id")),
		requires("iv.address-validation", RulePrecondition, []string{"print_label", "generate_label"}, "validate_address", nil, nil,
			ClassFailedPrecondition, "labels need a validated address",
			msgf("label generation failed: address for order %s not validated (carrier code 3341)", "param:order")),
		requires("iv.customs", RuleContext, []string{"transfer_stock"}, "create_customs_declaration", []string{"sku"}, crossBorder,
			ClassFailedPrecondition, "transfers between countries need a customs declaration",
			msgf("transfer of %s from %s to %s requires a customs declaration (ref CD-%d)", "nat:sku", "nat:from_wh", "nat:to_wh", "trace")),
		deprecated("iv.allocate-legacy", "allocate_inventory", "allocate_inventory was replaced by reserve_stock",
			msgf("allocate_inventory is read-only since WMS 9.2; no stock reserved for %s", "nat:sku")),
		driftTool("iv.label-migration", "print_label", "generate_label", "labels move to generate_label in WMS 10",
			msgf("unknown tool generate_label (available from WMS 10, trace %d)", "trace"),
			msgf("print_label was retired in WMS 10 on 2025-06-01; order %s has no label", "nat:order_id")),
		quota("iv.stock-quota", "check_stock", "one stock check per SKU",
			msgf("429: inventory API rate limit for warehouse %s (1 check per SKU per minute)", "nat:warehouse_id")),
		requires("iv.check-before-reserve", RuleOrdering, []string{"reserve_stock"}, "check_stock", []string{"sku"}, nil,
			ClassFailedPrecondition, "stock is checked before it is reserved",
			msgf("stock for %s must be checked before reservation (snapshot %d expired)", "nat:sku", "trace")),
	}
	build := func(b *builder, units int) {
		order := b.param("order", b.id("ORD", 5))
		wh := b.param("warehouse", pick(b.rng, warehouseIDs))
		carrier := b.param("carrier", pick(b.rng, []string{"ups", "dhl", "dpd"}))
		for i := range units {
			sku := b.param(fmt.Sprintf("sku_%d", i+1), b.id("SKU", 4))
			qty := strconv.Itoa(1 + b.rng.IntN(20))
			b.step("check_stock", "sku", sku, "warehouse_id", wh)
			if b.rng.IntN(3) == 0 {
				from := pick(b.rng, warehouseIDs)
				for from == wh {
					from = pick(b.rng, warehouseIDs)
				}
				if warehouses[from] != warehouses[wh] {
					b.aux("iv.customs", "create_customs_declaration", "sku", sku, "from_wh", from, "to_wh", wh)
				}
				b.step("transfer_stock", "sku", sku, "from_wh", from, "to_wh", wh, "qty", qty)
			}
			b.step("reserve_stock", "sku", sku, "qty", qty, "warehouse_id", wh)
		}
		b.aux("iv.address-validation", "validate_address", "order_id", order)
		b.step("create_shipment", "order_id", order, "carrier", carrier, "weight", fmt.Sprintf("%d.%02d", 1+b.rng.IntN(30), b.rng.IntN(100)))
		b.step("print_label", "order_id", order)
		b.step("schedule_pickup", "carrier", carrier, "date", b.date())
		b.say("Fulfil order %s of %d SKUs from warehouse %s, ship it with %s and book the pickup.", order, units, wh, carrier)
	}
	return &family{name: "inventory", tools: tools, rules: rules, minUnits: 2, maxUnits: 25, build: build}
}
