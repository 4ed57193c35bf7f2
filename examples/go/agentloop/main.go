// Command agentloop is the Go twin of examples/python/agent_loop.py: an
// agent loop over admem with a scripted stand-in model. The booking tool
// wants dates written YYYY-MM-DD; the model writes them day/month/year. The
// first episode fails and recovers, the worker learns the mistake, and in the
// second episode guard warns before the same mistake with the fixed call,
// which the agent makes instead.
//
//	go run ./examples/go/agentloop            # ADMEM_URL, ADMEM_KEY or .data/dev/platform.key
//
// With a platform key it makes a fresh tenant for the run. It exits 1 when
// guard did not warn about the repeated mistake.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	sdk "github.com/admem/admem/sdk/go"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "agentloop:", err)
		os.Exit(1)
	}
}

// dateFormatError is the booking tool's refusal.
type dateFormatError struct{ got string }

func (e *dateFormatError) Error() string { return "date must be YYYY-MM-DD, got " + e.got }

var tools = map[string]sdk.Tool{
	"find_restaurant": func(_ context.Context, args map[string]any) (any, error) {
		name, _ := args["name"].(string)
		sum := 0
		for _, r := range name {
			sum += int(r)
		}
		return map[string]any{"restaurant_id": fmt.Sprintf("r-%d", sum%97), "name": name}, nil
	},
	"book_table": func(_ context.Context, args map[string]any) (any, error) {
		date, _ := args["date"].(string)
		if len(date) != 10 || date[4] != '-' || date[7] != '-' {
			return nil, &dateFormatError{got: date}
		}
		return map[string]any{"booking_id": "b-" + randomHex(4), "restaurant_id": args["restaurant_id"], "date": date,
			"party_size": args["party_size"]}, nil
	},
}

// model is the scripted stand-in for a language model: it finds the
// restaurant, then books, writing the date day/month/year until a tool told
// it the format.
type model struct {
	restaurant string
	party      int
	ymd, dmy   string
}

type turn struct {
	call   sdk.Call
	result any
	err    string
}

func (m model) next(history []turn) *sdk.Call {
	if len(history) == 0 {
		return &sdk.Call{Tool: "find_restaurant", Args: map[string]any{"name": m.restaurant}}
	}
	last := history[len(history)-1]
	if last.call.Tool == "book_table" && last.err == "" {
		return nil
	}
	var rid any
	told := false
	for _, h := range history {
		if h.call.Tool == "find_restaurant" && h.result != nil {
			rid = h.result.(map[string]any)["restaurant_id"]
		}
		told = told || strings.Contains(h.err, "YYYY-MM-DD")
	}
	date := m.dmy
	if told {
		date = m.ymd
	}
	return &sdk.Call{Tool: "book_table", Args: map[string]any{"restaurant_id": rid, "date": date, "party_size": m.party}}
}

func episode(ctx context.Context, c *sdk.Client, task string, m model, out io.Writer) (*sdk.Check, error) {
	ep := c.Episode(task, sdk.EpisodeOptions{Scope: sdk.Scope{AgentID: "booking-agent"}})
	fmt.Fprintf(out, "\n== episode: %s\n", task)
	mem, err := ep.Recall(ctx, 400)
	if err != nil {
		return nil, err
	}
	if text := strings.TrimSpace(mem.Text); text != "" {
		lines := strings.Split(text, "\n")
		fmt.Fprintf(out, "   recall: %s\n", strings.Join(lines[:min(4, len(lines))], "\n           "))
	} else {
		fmt.Fprintln(out, "   recall: (nothing learnt yet)")
	}
	var (
		history []turn
		warned  *sdk.Check
	)
	for range 6 {
		call := m.next(history)
		if call == nil {
			break
		}
		chk, err := ep.Check(ctx, *call)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "   model wants %s\n", call)
		switch {
		case chk.Transient():
			fmt.Fprintln(out, "   guard: transient fault last time; retrying after a short wait")
			time.Sleep(500 * time.Millisecond)
		case chk.Warned() || chk.Blocked():
			warned = &chk
			fmt.Fprintf(out, "   guard: %s (risk %.2f, %s)\n", strings.ToUpper(chk.Decision), chk.Risk, chk.Kind)
			if len(chk.Notes) > 0 {
				fmt.Fprintf(out, "      note: %s\n", chk.Notes[0])
			}
			if chk.Suggestion != nil {
				fmt.Fprintf(out, "      suggestion: %s  <- taking it\n", chk.Suggestion)
				call = chk.Suggestion
			} else if chk.Blocked() {
				fmt.Fprintf(out, "      advice: %s  <- not making the call\n", chk.Advice)
				history = append(history, turn{call: *call, err: "guard blocked: " + chk.Advice})
				continue
			}
		default:
			fmt.Fprintf(out, "   guard: allow (risk %.2f)\n", chk.Risk)
		}
		result, callErr := tools[call.Tool](ctx, call.Args)
		if err := ep.Record(ctx, *call, result, callErr); err != nil {
			return nil, err
		}
		t := turn{call: *call, result: result}
		if callErr != nil {
			t.err = callErr.Error()
			fmt.Fprintf(out, "   -> ERROR %s\n", callErr)
		} else {
			b, _ := json.Marshal(result)
			fmt.Fprintf(out, "   -> %s\n", b)
		}
		history = append(history, t)
	}
	ok := len(history) > 0 && history[len(history)-1].call.Tool == "book_table" && history[len(history)-1].err == ""
	outcome := "failure"
	if ok {
		outcome = "success"
	}
	tr, err := ep.Close(ctx, outcome)
	if err != nil {
		return nil, err
	}
	if _, err := ep.Feedback(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "   closed: %s, %d step(s), %d failed; recall rated\n", tr.Outcome, tr.StepCount, tr.FailedSteps)
	return warned, nil
}

func connect(ctx context.Context, getenv func(string) string, out io.Writer) (*sdk.Client, error) {
	url, key := getenv("ADMEM_URL"), getenv("ADMEM_KEY")
	if url == "" {
		url = sdk.DefaultURL
	}
	if key == "" {
		file := getenv("ADMEM_KEY_FILE")
		if file == "" {
			file = ".data/dev/platform.key"
		}
		if b, err := os.ReadFile(file); err == nil {
			key = strings.TrimSpace(string(b))
		}
	}
	if key == "" {
		return nil, errors.New("set ADMEM_KEY to an admem key (the platform admin key the first `make run` printed, or a tenant key with write scope)")
	}
	c, err := sdk.New(url, key)
	if err != nil {
		return nil, err
	}
	me, err := c.Me(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot use admem at %s (is `make run` running?): %w", url, err)
	}
	if !me.IsPlatform {
		fmt.Fprintf(out, "admem at %s, tenant %s\n", url, me.TenantId)
		return c, nil
	}
	ten, err := c.CreateTenant(ctx, "example-go-"+randomHex(4), "")
	if err != nil {
		return nil, err
	}
	adminKey, err := c.CreateTenantKey(ctx, ten.Id.String(), "example-admin", []string{"admin"}, "")
	if err != nil {
		return nil, err
	}
	admin, err := sdk.New(url, adminKey.Key)
	if err != nil {
		return nil, err
	}
	agentKey, err := admin.CreateKey(ctx, "booking-agent", []string{"write"}, "")
	if err != nil {
		return nil, err
	}
	// The tenant's one agent: what its key reports may block and teach
	// fixes (several agents would instead confirm each other; see
	// docs/trust.md).
	if _, err := admin.TrustKeyForLearning(ctx, agentKey.Id.String(), true); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "admem at %s; a fresh tenant %s for this run\n", url, ten.Name)
	return sdk.New(url, agentKey.Key)
}

func run(ctx context.Context, getenv func(string) string, out io.Writer) error {
	c, err := connect(ctx, getenv, out)
	if err != nil {
		return err
	}
	if _, err := episode(ctx, c, "book a table at Luigi for 2 on 4 March 2027",
		model{restaurant: "Luigi", party: 2, ymd: "2027-03-04", dmy: "04/03/2027"}, out); err != nil {
		return err
	}
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := c.WaitForLearning(wctx, 0); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n-- the worker learnt from the failure in %.1f s\n", time.Since(start).Seconds())
	warned, err := episode(ctx, c, "book a table at Chez Anne for 4 on 6 May 2027",
		model{restaurant: "Chez Anne", party: 4, ymd: "2027-05-06", dmy: "06/05/2027"}, out)
	if err != nil {
		return err
	}
	if warned == nil {
		return errors.New("guard did not warn about the repeated mistake")
	}
	fmt.Fprintln(out, "\nguard warned before the repeated mistake, and its fixed call worked.")
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
