package learner

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// ParamKey is the key of a placeholder's stored form: {"$param": "name"}.
// A script's arguments are free JSON, so a placeholder needs a form of its
// own to come back as a Param rather than as a constant string.
const ParamKey = "$param"

// MarshalJSON stores p as {"$param": "name"}.
func (p Param) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{ParamKey: string(p)})
}

// UnmarshalJSON reads {"$param": "name"} and also a bare "name", the form
// stored before placeholders had one of their own.
func (p *Param) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		*p = Param(name)
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("learner: placeholder: %w", err)
	}
	raw, ok := m[ParamKey]
	if !ok || len(m) != 1 {
		return errors.New(`learner: placeholder is not {"$param": "name"}`)
	}
	if err := json.Unmarshal(raw, &name); err != nil {
		return fmt.Errorf("learner: placeholder name: %w", err)
	}
	*p = Param(name)
	return nil
}

// paramOf reports whether v is a placeholder's stored form as decoded into
// an any: an object whose only key is "$param", with a string value.
func paramOf(v any) (Param, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	name, ok := m[ParamKey].(string)
	return Param(name), ok
}

// withParams returns v with every stored placeholder form turned back into
// a Param, at any depth.
func withParams(v any) any {
	if p, ok := paramOf(v); ok {
		return p
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = withParams(e)
		}
	case []any:
		for i, e := range x {
			x[i] = withParams(e)
		}
	}
	return v
}

// namedParams returns v with every string equal to one of names turned
// into that Param, at any depth: how a placeholder was stored before it had
// a form of its own.
func namedParams(v any, names []string) any {
	switch x := v.(type) {
	case string:
		if slices.Contains(names, x) {
			return Param(x)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = namedParams(e, names)
		}
	case []any:
		for i, e := range x {
			x[i] = namedParams(e, names)
		}
	}
	return v
}

// UnmarshalJSON reads a stored script step: its placeholders come back as
// Param values. (Marshalling needs no method: Param marshals itself.)
func (s *ScriptStep) UnmarshalJSON(b []byte) error {
	type plain ScriptStep
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if p.Args != nil {
		p.Args = withParams(p.Args).(map[string]any)
	}
	*s = ScriptStep(p)
	return nil
}

// UnmarshalJSON reads a stored procedure in either form: placeholders as
// {"$param": "name"} (Param's own), or, as stored before, as bare strings
// holding a name listed in Params. The old form is recognised by a script
// with no placeholder although Params lists some; its strings equal to a
// listed name become placeholders again (a constant spelled like a
// placeholder's name cannot be told apart there, as before).
func (p *Procedure) UnmarshalJSON(b []byte) error {
	type plain Procedure
	var q plain
	if err := json.Unmarshal(b, &q); err != nil {
		return err
	}
	if len(q.Params) > 0 && len(params(q.Script)) == 0 {
		for i := range q.Script {
			if q.Script[i].Args != nil {
				q.Script[i].Args = namedParams(q.Script[i].Args, q.Params).(map[string]any)
			}
		}
	}
	*p = Procedure(q)
	return nil
}
