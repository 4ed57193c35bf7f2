package judge

// Utility thresholds: an item recalled and rated at least RetireMinUses
// times whose share of successful uses stays below RetireMaxRatio keeps
// hurting and is retired (kept in history, no longer recalled).
const (
	RetireMinUses  = 3
	RetireMaxRatio = 0.5
)

// Utility is the Laplace-smoothed success ratio of an item's rated uses:
// 0.5 for an unrated item, moving towards the observed ratio with evidence.
func Utility(uses, successes int) float64 {
	return (float64(successes) + 1) / (float64(uses) + 2)
}

// Retire reports whether an item with these counts should stop being recalled.
func Retire(uses, successes int) bool {
	return uses >= RetireMinUses && float64(successes) < RetireMaxRatio*float64(uses)
}
