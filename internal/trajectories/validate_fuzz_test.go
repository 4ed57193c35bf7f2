package trajectories

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/admem/admem"
)

// FuzzValidate runs arbitrary client trajectories through validation and
// signature computation: no panic, and whatever passes is storable (no NUL
// characters, a valid status per step, bounded sizes).
func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"Task":"book a flight","Steps":[{"Action":"search","Args":{"q":"x"}},{"Action":"book","Error":"Error: no seats"}]}`))
	f.Add([]byte(`{"Task":"t\u0000","Open":true,"Steps":[{"Action":"\u0000a","Status":"error","Args":{"k\u0000":["v\u0000",null,{"n":null}]}}]}`))
	f.Add([]byte(`{"Task":" ","Outcome":"won"}`))
	f.Add([]byte(`{"Task":"x","Score":2,"Steps":[{"Action":"a","Status":"meh"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var tr admem.Trajectory
		if json.Unmarshal(data, &tr) != nil {
			return
		}
		if err := validate(&tr, ""); err != nil {
			if admem.ErrorCode(err) != admem.EINVALID {
				t.Fatalf("validation failed with %v, not a validation error", err)
			}
			return
		}
		if tr.Task == "" || len(tr.Task) > MaxTaskLen || strings.ContainsRune(tr.Task, 0) {
			t.Fatalf("accepted task %q", tr.Task)
		}
		for _, s := range tr.Steps {
			if s.Action == "" || strings.ContainsRune(s.Action, 0) || strings.ContainsRune(s.Error, 0) || strings.ContainsRune(s.Observation, 0) {
				t.Fatalf("accepted step %+v", s)
			}
			if s.Status != admem.StepOK && s.Status != admem.StepError {
				t.Fatalf("accepted status %q", s.Status)
			}
			if b, err := json.Marshal(s.Args); err != nil || strings.Contains(string(b), `\u0000`) {
				t.Fatalf("args not storable: %s %v", b, err)
			}
		}
		sigs := signatures(tr.Steps)
		for i, s := range tr.Steps {
			if s.Failed() != (sigs[i] != "") {
				t.Fatalf("step %d: failed %v, signature %q", i, s.Failed(), sigs[i])
			}
		}
	})
}
