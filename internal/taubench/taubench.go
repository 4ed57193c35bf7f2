// Package taubench reads tau-bench trajectory logs (a JSON array of episodes
// with task_id, trial, reward, info and traj, the OpenAI-style message list)
// into admem trajectories. It accepts any file of that format, including
// truncated ones and JSON Lines, because benchmark logs are untrusted input:
// what cannot be read is reported, never panicked on.
package taubench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/admem/admem"
)

// ErrorPrefix starts every failed tool result in tau-bench: the environment
// catches the tool's exception and returns "Error: <message>".
const ErrorPrefix = "Error:"

// RawArgsKey holds tool-call arguments that were not a JSON object (a
// malformed or truncated string, a bare list), so nothing the agent sent is
// dropped.
const RawArgsKey = "_raw"

// Metadata keys set on every trajectory.
const (
	MetaTaskID           = "taubench.task_id"
	MetaTrial            = "taubench.trial"
	MetaFirstUserMessage = "taubench.first_user_message"
	MetaInstruction      = "taubench.instruction"
)

// Episode is one tau-bench run: one trial of one task.
type Episode struct {
	Index            int    // position in the file
	TaskID           string // task_id as written (numbers in their decimal form)
	Trial            int    // -1 when the file gives none
	Reward           *float64
	Instruction      string // info.task.instruction: the simulated user's brief
	UserID           string // info.task.user_id
	FirstUserMessage string
	SkippedMessages  int // traj entries that were not decodable messages
	Trajectory       admem.Trajectory
}

// EpisodeError says which episode could not be read, and why.
type EpisodeError struct {
	Index int
	Err   error
}

func (e *EpisodeError) Error() string {
	return fmt.Sprintf("taubench: episode %d: %v", e.Index, e.Err)
}

func (e *EpisodeError) Unwrap() error { return e.Err }

// Load reads and parses a tau-bench log file; see Parse.
func Load(path string) ([]Episode, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("taubench: %w", err)
	}
	return Parse(data)
}

// Parse reads a tau-bench log: a JSON array of episodes, or a stream of
// episode objects (JSON Lines). It returns every episode it could read, in
// file order, and a non-nil error (joined *EpisodeError values, and a
// syntax error if the text stops being JSON) when some could not be; callers
// that accept partial logs may use the episodes anyway.
func Parse(data []byte) ([]Episode, error) {
	data = bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\xef\xbb\xbf"))
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("taubench: empty input")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var (
		eps  []Episode
		errs []error
	)
	add := func(i int, raw json.RawMessage) {
		ep, err := ParseEpisode(raw)
		if err != nil {
			errs = append(errs, &EpisodeError{Index: i, Err: err})
			return
		}
		ep.Index = i
		if ep.TaskID == "" {
			// Without a task id only the position tells episodes apart.
			ep.Trajectory.ID = "taubench-#" + strconv.Itoa(i)
		}
		eps = append(eps, ep)
	}
	switch data[0] {
	case '[':
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("taubench: %w", err)
		}
		for i := 0; dec.More(); i++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				errs = append(errs, fmt.Errorf("taubench: after %d episodes: %w", i, err))
				return eps, errors.Join(errs...)
			}
			add(i, raw)
		}
	case '{':
		for i := 0; ; i++ {
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					errs = append(errs, fmt.Errorf("taubench: after %d episodes: %w", i, err))
				}
				break
			}
			add(i, raw)
		}
	default:
		return nil, fmt.Errorf("taubench: input is neither a JSON array nor JSON objects (starts with %q)", data[0])
	}
	return eps, errors.Join(errs...)
}

type rawEpisode struct {
	TaskID json.RawMessage   `json:"task_id"`
	Trial  json.RawMessage   `json:"trial"`
	Reward json.RawMessage   `json:"reward"`
	Info   json.RawMessage   `json:"info"`
	Traj   []json.RawMessage `json:"traj"`
}

type rawMessage struct {
	Role       string            `json:"role"`
	Content    json.RawMessage   `json:"content"`
	Name       string            `json:"name"`
	ToolCallID string            `json:"tool_call_id"`
	ToolCalls  []json.RawMessage `json:"tool_calls"`
}

type rawToolCall struct {
	ID       string `json:"id"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

// ParseEpisode reads one episode object. Messages it cannot decode are
// skipped and counted; only an episode that is not an object, or whose
// traj is not a list, is an error.
func ParseEpisode(raw []byte) (Episode, error) {
	var re rawEpisode
	if err := json.Unmarshal(raw, &re); err != nil {
		return Episode{}, err
	}
	ep := Episode{
		TaskID: scalarText(re.TaskID),
		Trial:  -1,
	}
	if n, ok := number(re.Trial); ok {
		ep.Trial = int(n)
	}
	if r, ok := number(re.Reward); ok {
		ep.Reward = &r
	}
	ep.Instruction, ep.UserID = taskInfo(re.Info)

	var (
		steps []admem.Step
		ids   []string // call id of each step, for matching results
	)
	// pending holds step indexes of calls still waiting for their result.
	// tau-bench reuses call ids within an episode, so ids only break ties
	// among pending calls; order decides the rest.
	var pending []int
	for _, rm := range re.Traj {
		var m rawMessage
		if err := json.Unmarshal(rm, &m); err != nil {
			ep.SkippedMessages++
			continue
		}
		switch m.Role {
		case "user":
			if ep.FirstUserMessage == "" {
				ep.FirstUserMessage = contentText(m.Content)
			}
		case "assistant":
			for _, rc := range m.ToolCalls {
				var c rawToolCall
				if err := json.Unmarshal(rc, &c); err != nil || c.Function.Name == "" {
					ep.SkippedMessages++
					continue
				}
				steps = append(steps, admem.Step{
					Index:  len(steps),
					Action: c.Function.Name,
					Args:   parseArgs(c.Function.Arguments),
					Status: admem.StepOK,
				})
				ids = append(ids, c.ID)
				pending = append(pending, len(steps)-1)
			}
		case "tool", "function":
			text := contentText(m.Content)
			k := matchPending(pending, steps, ids, m.ToolCallID, m.Name)
			var i int
			if k < 0 {
				// A result with no call: keep it as a step so its
				// observation (and error) is not lost.
				steps = append(steps, admem.Step{Index: len(steps), Action: m.Name, Status: admem.StepOK})
				ids = append(ids, m.ToolCallID)
				i = len(steps) - 1
			} else {
				i = pending[k]
				pending = append(pending[:k], pending[k+1:]...)
			}
			steps[i].Observation = text
			if strings.HasPrefix(strings.TrimSpace(text), ErrorPrefix) {
				steps[i].Status = admem.StepError
				steps[i].Error = strings.TrimSpace(text)
			}
		}
	}

	t := admem.Trajectory{
		ID:      trajectoryID(ep.TaskID, ep.Trial),
		Task:    ep.Instruction,
		Scope:   admem.Scope{UserID: ep.UserID},
		Steps:   steps,
		Outcome: outcome(ep.Reward),
		Score:   ep.Reward,
		Metadata: map[string]any{
			MetaTaskID: ep.TaskID,
			MetaTrial:  ep.Trial,
		},
	}
	if t.Task == "" {
		t.Task = ep.FirstUserMessage
	}
	if ep.FirstUserMessage != "" {
		t.Metadata[MetaFirstUserMessage] = ep.FirstUserMessage
	}
	if ep.Instruction != "" {
		t.Metadata[MetaInstruction] = ep.Instruction
	}
	ep.Trajectory = t
	return ep, nil
}

// matchPending picks which pending call a tool result answers: the first
// with the same call id, else the first with the same tool name, else the
// oldest. It returns an index into pending, or -1 when none is pending.
func matchPending(pending []int, steps []admem.Step, ids []string, callID, name string) int {
	if len(pending) == 0 {
		return -1
	}
	if callID != "" {
		for k, i := range pending {
			if ids[i] == callID {
				return k
			}
		}
	}
	if name != "" {
		for k, i := range pending {
			if steps[i].Action == name {
				return k
			}
		}
	}
	return 0
}

// parseArgs decodes tool-call arguments, which OpenAI-style logs carry as a
// JSON string holding an object (some logs inline the object itself).
func parseArgs(raw json.RawMessage) map[string]any {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return map[string]any{}
	}
	text := string(raw)
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return map[string]any{RawArgsKey: text}
		}
		text = s
		if strings.TrimSpace(s) == "" {
			return map[string]any{}
		}
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil || m == nil {
		return map[string]any{RawArgsKey: text}
	}
	return m
}

// contentText flattens message content: a string, null, or a list of parts
// ({"type": "text", "text": …}) as newer chat formats write it.
func contentText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			if p.Text == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(p.Text)
		}
		return b.String()
	}
	return string(raw)
}

// scalarText renders a JSON string or number as text ("7" for 7 and "7").
func scalarText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// number reads a JSON number, or a string holding one.
func number(raw json.RawMessage) (float64, bool) {
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		return f, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return f, true
		}
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		if b {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// taskInfo plucks the instruction and user id from info.task, tolerating
// any shape of info.
func taskInfo(raw json.RawMessage) (instruction, userID string) {
	var info struct {
		Task json.RawMessage `json:"task"`
	}
	if json.Unmarshal(raw, &info) != nil {
		return "", ""
	}
	var task map[string]json.RawMessage
	if json.Unmarshal(info.Task, &task) != nil {
		return "", ""
	}
	return scalarText(task["instruction"]), scalarText(task["user_id"])
}

// outcome maps tau-bench's reward (1 solved, 0 not) to an outcome.
func outcome(reward *float64) admem.Outcome {
	switch {
	case reward == nil:
		return admem.OutcomeUnknown
	case *reward >= 1:
		return admem.OutcomeSuccess
	case *reward <= 0:
		return admem.OutcomeFailure
	default:
		return admem.OutcomePartial
	}
}

func trajectoryID(taskID string, trial int) string {
	if trial < 0 {
		return "taubench-" + taskID
	}
	return "taubench-" + taskID + "-" + strconv.Itoa(trial)
}

// Trajectories returns the trajectories of eps, in order.
func Trajectories(eps []Episode) []admem.Trajectory {
	out := make([]admem.Trajectory, len(eps))
	for i, e := range eps {
		out[i] = e.Trajectory
	}
	return out
}
