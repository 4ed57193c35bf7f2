package taubench

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/testenv"
)

func TestLoadAirline(t *testing.T) {
	t.Parallel()
	eps, err := Load(testenv.SharedData(t, "TAUBENCH_FILE", "taubench/airline-dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 100 {
		t.Errorf("%d episodes, want 100", len(eps))
	}
	var steps, failed, success, skipped int
	ids := map[string]bool{}
	for _, e := range eps {
		tr := e.Trajectory
		if ids[tr.ID] {
			t.Errorf("duplicate trajectory id %s", tr.ID)
		}
		ids[tr.ID] = true
		if e.Instruction == "" || tr.Task != e.Instruction {
			t.Errorf("%s: task text is not the instruction", tr.ID)
		}
		if e.FirstUserMessage == "" || e.UserID == "" || tr.Scope.UserID != e.UserID {
			t.Errorf("%s: first user message %q, user %q", tr.ID, e.FirstUserMessage, e.UserID)
		}
		if e.Reward == nil || (tr.Outcome != admem.OutcomeSuccess && tr.Outcome != admem.OutcomeFailure) {
			t.Errorf("%s: reward %v outcome %q", tr.ID, e.Reward, tr.Outcome)
		}
		if tr.Outcome == admem.OutcomeSuccess {
			success++
		}
		skipped += e.SkippedMessages
		for i, s := range tr.Steps {
			steps++
			if s.Index != i || s.Action == "" {
				t.Errorf("%s step %d: index %d action %q", tr.ID, i, s.Index, s.Action)
			}
			if s.Failed() != strings.HasPrefix(s.Observation, ErrorPrefix) || s.Failed() != (s.Error != "") {
				t.Errorf("%s step %d: status %q for %q", tr.ID, i, s.Status, s.Observation)
			}
			if _, raw := s.Args[RawArgsKey]; raw {
				t.Errorf("%s step %d: arguments not decoded: %v", tr.ID, i, s.Args)
			}
			if s.Observation == "" && s.Action != "think" {
				t.Errorf("%s step %d (%s): no tool result matched", tr.ID, i, s.Action)
			}
		}
		failed += len(tr.FailedSteps())
	}
	// Figures counted independently from the raw file.
	if steps != 604 || failed != 39 || success != 42 || skipped != 0 {
		t.Errorf("steps %d failed %d successes %d skipped %d; want 604, 39, 42, 0", steps, failed, success, skipped)
	}

	first := eps[0].Trajectory
	if first.ID != "taubench-0-0" || first.Steps[0].Action != "get_user_details" || first.Steps[0].Args["user_id"] != "mia_li_3668" {
		t.Errorf("first episode: %s %+v", first.ID, first.Steps[0])
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	const call = `{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_reservation_details","arguments":"{\"reservation_id\":\"ZFA04Y\"}"}}]}`
	const result = `{"role":"tool","tool_call_id":"c1","name":"get_reservation_details","content":"Error: reservation ZFA04Y not found"}`
	tests := []struct {
		name      string
		in        string
		wantEps   int
		wantErr   bool
		wantSteps []string // action:status per step of the first episode
		check     func(t *testing.T, eps []Episode)
	}{
		{name: "one episode", in: `[{"task_id":3,"trial":1,"reward":1.0,"traj":[{"role":"user","content":"hi"},` + call + `,` + result + `]}]`,
			wantEps: 1, wantSteps: []string{"get_reservation_details:error"},
			check: func(t *testing.T, eps []Episode) {
				tr := eps[0].Trajectory
				if tr.ID != "taubench-3-1" || tr.Task != "hi" || tr.Outcome != admem.OutcomeSuccess || *tr.Score != 1 {
					t.Errorf("trajectory %+v", tr)
				}
				if tr.Steps[0].Error != "Error: reservation ZFA04Y not found" || tr.Steps[0].Args["reservation_id"] != "ZFA04Y" {
					t.Errorf("step %+v", tr.Steps[0])
				}
			}},
		{name: "json lines", in: `{"task_id":"a","trial":0,"reward":0,"traj":[]}` + "\n" + `{"task_id":"b","trial":0,"reward":0.5,"traj":[]}`,
			wantEps: 2, check: func(t *testing.T, eps []Episode) {
				if eps[1].Trajectory.Outcome != admem.OutcomePartial {
					t.Errorf("reward 0.5 gave %q", eps[1].Trajectory.Outcome)
				}
			}},
		{name: "truncated array keeps complete episodes", in: `[{"task_id":1,"trial":0,"traj":[]},{"task_id":2,"trial":0,"traj":[{"role":"us`,
			wantEps: 1, wantErr: true},
		{name: "not json", in: `hello`, wantErr: true},
		{name: "empty", in: "  ", wantErr: true},
		{name: "episode not an object", in: `[42, {"task_id":1,"traj":[]}]`, wantEps: 1, wantErr: true},
		{name: "traj not a list", in: `[{"task_id":1,"traj":"oops"}]`, wantEps: 0, wantErr: true},
		{name: "bad messages skipped", in: `[{"task_id":1,"traj":[17,{"role":["x"]},` + call + `]}]`,
			wantEps: 1, wantSteps: []string{"get_reservation_details:ok"},
			check: func(t *testing.T, eps []Episode) {
				if eps[0].SkippedMessages != 2 || eps[0].Trajectory.Outcome != admem.OutcomeUnknown || eps[0].Trial != -1 {
					t.Errorf("episode %+v", eps[0])
				}
			}},
		{name: "malformed arguments kept raw", in: `[{"task_id":1,"traj":[{"role":"assistant","tool_calls":[{"id":"x","function":{"name":"calculate","arguments":"{\"expression\": \"1+"}}]}]}]`,
			wantEps: 1, wantSteps: []string{"calculate:ok"},
			check: func(t *testing.T, eps []Episode) {
				if got := eps[0].Trajectory.Steps[0].Args[RawArgsKey]; got != `{"expression": "1+` {
					t.Errorf("raw args %v", got)
				}
			}},
		{name: "object arguments and part content", in: `[{"task_id":1,"traj":[{"role":"user","content":[{"type":"text","text":"book"}]},{"role":"assistant","tool_calls":[{"id":"x","function":{"name":"think","arguments":{"thought":"ok"}}}]}]}]`,
			wantEps: 1, wantSteps: []string{"think:ok"},
			check: func(t *testing.T, eps []Episode) {
				tr := eps[0].Trajectory
				if tr.Task != "book" || tr.Steps[0].Args["thought"] != "ok" {
					t.Errorf("trajectory %+v", tr)
				}
			}},
		{name: "reused call ids match in order", in: `[{"task_id":1,"traj":[` +
			`{"role":"assistant","tool_calls":[{"id":"same","function":{"name":"a","arguments":"{}"}}]},{"role":"tool","tool_call_id":"same","name":"a","content":"one"},` +
			`{"role":"assistant","tool_calls":[{"id":"same","function":{"name":"b","arguments":"{}"}}]},{"role":"tool","tool_call_id":"same","name":"b","content":"Error: two"}]}]`,
			wantEps: 1, wantSteps: []string{"a:ok", "b:error"},
			check: func(t *testing.T, eps []Episode) {
				if got := eps[0].Trajectory.Steps[0].Observation; got != "one" {
					t.Errorf("first observation %q", got)
				}
			}},
		{name: "parallel calls answered out of order", in: `[{"task_id":1,"traj":[` +
			`{"role":"assistant","tool_calls":[{"id":"p","function":{"name":"a","arguments":"{}"}},{"id":"q","function":{"name":"b","arguments":"{}"}}]},` +
			`{"role":"tool","tool_call_id":"q","name":"b","content":"B"},{"role":"tool","tool_call_id":"p","name":"a","content":"A"}]}]`,
			wantEps: 1, wantSteps: []string{"a:ok", "b:ok"},
			check: func(t *testing.T, eps []Episode) {
				s := eps[0].Trajectory.Steps
				if s[0].Observation != "A" || s[1].Observation != "B" {
					t.Errorf("observations %q %q", s[0].Observation, s[1].Observation)
				}
			}},
		{name: "orphan result kept", in: `[{"task_id":1,"traj":[` + result + `]}]`,
			wantEps: 1, wantSteps: []string{"get_reservation_details:error"}},
		{name: "string reward and trial", in: `[{"task_id":"t","trial":"2","reward":"1","traj":[]}]`, wantEps: 1,
			check: func(t *testing.T, eps []Episode) {
				if eps[0].Trial != 2 || eps[0].Trajectory.Outcome != admem.OutcomeSuccess {
					t.Errorf("episode %+v", eps[0])
				}
			}},
		{name: "no task id uses position", in: `[{"traj":[]},{"traj":[]}]`, wantEps: 2,
			check: func(t *testing.T, eps []Episode) {
				if eps[0].Trajectory.ID == eps[1].Trajectory.ID {
					t.Errorf("ids collide: %s", eps[0].Trajectory.ID)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eps, err := Parse([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if len(eps) != tc.wantEps {
				t.Fatalf("%d episodes, want %d", len(eps), tc.wantEps)
			}
			if tc.wantSteps != nil {
				var got []string
				for _, s := range eps[0].Trajectory.Steps {
					got = append(got, s.Action+":"+string(s.Status))
				}
				if strings.Join(got, " ") != strings.Join(tc.wantSteps, " ") {
					t.Errorf("steps %v, want %v", got, tc.wantSteps)
				}
			}
			if tc.check != nil {
				tc.check(t, eps)
			}
		})
	}
}

func TestEpisodeErrorIndex(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(`[{"traj":[]}, "x"]`))
	var ee *EpisodeError
	if !errors.As(err, &ee) || ee.Index != 1 {
		t.Fatalf("err = %v, want an *EpisodeError for index 1", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`[{"task_id":0,"trial":0,"reward":0.0,"info":{"task":{"user_id":"u","instruction":"x"}},"traj":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c","name":"f","content":"Error: no"}]}]`))
	f.Add([]byte(`{"task_id":"a","traj":[{"role":"tool","content":[{"text":"Error: x"}]}]}` + "\n" + `{"traj":null}`))
	f.Add([]byte(`[{"task_id":1,"traj":[{"role":"assistant","tool_calls":[{"function":{"name":"g","arguments":"{\"a\": [1, {\"b\""}}]}`))
	f.Add([]byte(`[1, "x", null, {"traj": {}}]`))
	if p := os.Getenv("TAUBENCH_FILE"); p != "" {
		if b, err := os.ReadFile(p); err == nil && len(b) > 4096 {
			f.Add(b[:4096])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		eps, _ := Parse(data)
		for _, e := range eps {
			tr := e.Trajectory
			if tr.ID == "" {
				t.Fatal("empty trajectory id")
			}
			switch tr.Outcome {
			case admem.OutcomeSuccess, admem.OutcomeFailure, admem.OutcomePartial, admem.OutcomeUnknown:
			default:
				t.Fatalf("outcome %q", tr.Outcome)
			}
			for i, s := range tr.Steps {
				if s.Index != i {
					t.Fatalf("step %d has index %d", i, s.Index)
				}
				if s.Failed() != (s.Error != "") || (s.Failed() && !strings.HasPrefix(s.Error, ErrorPrefix)) {
					t.Fatalf("step %d: status %q error %q", i, s.Status, s.Error)
				}
			}
		}
	})
}
