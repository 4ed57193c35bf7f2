package admem

// GuardSettings is a tenant's guard configuration (the "guard" key of its
// settings): the risk thresholds that turn risks into decisions, and whether
// guard and recall may use the tenant's trained adapter at all.
type GuardSettings struct {
	Warn  float64 // a risk at or above this warns
	Block float64 // a risk at or above this blocks
	// UseAdapter false makes guard answer from mistake notes alone and
	// recall rank without the adapter, whatever version is active.
	UseAdapter bool
}

// Default guard settings: warn at 0.5, block at 0.85 on the adapter's
// class-balanced risk scale, adapter on.
const (
	DefaultGuardWarn  = 0.5
	DefaultGuardBlock = 0.85
)

// DefaultGuardSettings are the settings of a tenant that has set none.
func DefaultGuardSettings() GuardSettings {
	return GuardSettings{Warn: DefaultGuardWarn, Block: DefaultGuardBlock, UseAdapter: true}
}
