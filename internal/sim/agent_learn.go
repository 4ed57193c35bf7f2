package sim

// useRecall lets recalled items change the episode's habits, the way a
// language-model agent given a worked example or a warning in its prompt
// follows it, most of the time.
func (r *run) useRecall(items []RecallItem) {
	followed := false
	for _, it := range items {
		switch it.Kind {
		case ItemProcedure:
			if followed || !r.relevant(it.Steps) {
				continue
			}
			followed = true
			if r.rng.Float64() < r.a.cfg.Heed {
				r.followProcedure(it.Steps)
			}
		case ItemMistake:
			if it.Pattern == nil {
				continue
			}
			r.notes = append(r.notes, it)
			if r.rng.Float64() < r.a.cfg.Heed {
				r.heedNote(it)
			}
		}
	}
}

// planTool maps a tool or its Alt to the tool the plan uses, or "".
func (r *run) planTool(tool string) string {
	for _, st := range r.task.Plan {
		if st.Action.Tool == tool || r.a.world.tools[st.Action.Tool].Alt == tool {
			return st.Action.Tool
		}
	}
	return ""
}

// relevant reports whether a procedure shares a tool with the plan.
func (r *run) relevant(steps []Action) bool {
	for _, s := range steps {
		if r.planTool(s.Tool) != "" {
			return true
		}
	}
	return false
}

// followProcedure adopts a procedure's aux steps, tools, order and formats.
func (r *run) followProcedure(steps []Action) {
	has, first := map[string]bool{}, map[string]int{}
	for j, s := range steps {
		has[s.Tool] = true
		if _, ok := first[s.Tool]; !ok {
			first[s.Tool] = j
		}
	}
	for i := range r.skipped {
		if has[r.task.Plan[i].Action.Tool] {
			delete(r.skipped, i)
		}
	}
	for t := range r.legacy {
		alt := r.a.world.tools[t].Alt
		switch {
		case has[t] && !has[alt]:
			r.legacy[t] = false
		case has[alt] && !has[t]:
			r.legacy[t] = true
		}
	}
	for i := range r.swapped {
		pa, okA := first[r.task.Plan[i].Action.Tool]
		pb, okB := first[r.task.Plan[i+1].Action.Tool]
		if okA && okB && pa < pb {
			delete(r.swapped, i)
		}
	}
	for _, s := range steps {
		if t := r.planTool(s.Tool); t != "" {
			for a, v := range s.Args {
				r.hint(t, a, v)
			}
		}
	}
}

// hint reads a recalled argument value: a literal says which format to write
// (or that the context-free default is right); a placeholder says "your own
// value", which for a context argument means not the default.
func (r *run) hint(tool, arg, v string) {
	as, ok := r.a.world.tools[tool].Arg(arg)
	if !ok || v == "*" {
		return
	}
	k := argKey(tool, arg)
	if _, isPH := IsPlaceholder(v); isPH {
		if as.Default != "" {
			r.deflt[k] = false
		}
		return
	}
	if as.Default != "" {
		r.deflt[k] = v == as.Default
		return
	}
	if kind := kinds[as.Kind]; len(kind.Formats) > 1 {
		if idx := kind.Detect(v); idx >= 0 {
			r.format[k] = idx
		}
	}
}

// heedNote applies a mistake note to the episode's plan: do the corrective
// step, keep the order, use the right tool, write the right format.
func (r *run) heedNote(n RecallItem) {
	p := *n.Pattern
	if c := n.Correction; c != nil {
		for i := range r.skipped {
			if r.task.Plan[i].Action.Tool == c.Tool {
				delete(r.skipped, i)
			}
		}
		for i := range r.swapped {
			if r.task.Plan[i].Action.Tool == c.Tool && r.task.Plan[i+1].Action.Tool == p.Tool {
				delete(r.swapped, i)
			}
		}
		for t := range r.legacy {
			alt := r.a.world.tools[t].Alt
			switch {
			case p.Tool == alt && c.Tool == t:
				r.legacy[t] = false
			case p.Tool == t && c.Tool == alt:
				r.legacy[t] = true
			}
		}
		if t := r.planTool(c.Tool); t != "" && t == r.planTool(p.Tool) {
			for a, v := range c.Args {
				r.hint(t, a, v)
			}
		}
		return
	}
	t := r.planTool(p.Tool)
	if t == "" {
		return
	}
	if t != p.Tool {
		r.legacy[t] = false
	}
	for a, v := range p.Args {
		as, ok := r.a.world.tools[t].Arg(a)
		if !ok {
			continue
		}
		k := argKey(t, a)
		switch {
		case as.Default != "" && v == as.Default:
			r.deflt[k] = false
		case len(v) > 1 && v[0] == '~' && r.format[k] >= 0:
			r.format[k] = -1
		}
	}
}

// observe updates the working state after a step.
func (r *run) observe(act Action, serr *StepError) {
	r.last = act
	switch {
	case serr == nil:
		r.memFails = 0
	case serr.Transient:
		// A 5xx or a timeout says nothing about the call or the advice
		// behind it: nothing to learn, nobody to distrust.
		r.transient[len(r.steps)-1] = true
		r.consec++
		r.lastErr = serr
		return
	case r.fromMemory[act.String()]:
		r.memFails++
	}
	if serr != nil {
		r.consec++
		r.lastErr = serr
		if r.rng.Float64() < r.a.cfg.InContext {
			r.learnFromError(act)
		}
		return
	}
	r.consec = 0
	recovered := r.lastErr != nil && !r.lastErr.Transient
	r.lastErr = nil
	for i := range r.task.Plan {
		if r.seen[i] || !r.env.StepDone(i) {
			continue
		}
		r.seen[i] = true
		if recovered && r.rng.Float64() < r.a.cfg.InContext {
			r.learnFromFix(i)
		}
	}
}

// learnFromError drops the habits that made act differ from the reference
// action of the step it was about.
func (r *run) learnFromError(act Action) {
	r.learnGenerated(act)
	t := r.planTool(act.Tool)
	if t == "" {
		return
	}
	if t != act.Tool {
		r.legacy[t] = false
	}
	ref := -1
	for i, st := range r.task.Plan {
		if st.Action.Tool == t && !r.env.StepDone(i) {
			ref = i
			break
		}
	}
	if ref < 0 {
		return
	}
	st := r.task.Plan[ref]
	for _, as := range r.a.world.tools[t].Args {
		if act.Args[as.Name] == st.Action.Args[as.Name] {
			continue
		}
		k := argKey(t, as.Name)
		if as.Default != "" && act.Args[as.Name] == as.Default {
			r.deflt[k] = false
		} else if !as.Key {
			r.format[k] = -1
		}
	}
}

// learnFromFix: after an error, plan step i succeeded; if it was a skipped
// aux step or half of a swapped pair, stop skipping or swapping that tool.
func (r *run) learnFromFix(i int) {
	tool := r.task.Plan[i].Action.Tool
	if r.skipped[i] {
		for j := range r.skipped {
			if r.task.Plan[j].Action.Tool == tool {
				delete(r.skipped, j)
			}
		}
	}
	for j := range r.swapped {
		if r.task.Plan[j].Action.Tool == tool {
			delete(r.swapped, j)
		}
	}
}

// learnGenerated drops the habits only generated worlds punish when a call
// showing them failed: the usual tool for a special entity, the whole value,
// the reversed pair, the guessed value, the old argument name.
func (r *run) learnGenerated(act Action) {
	if r.a.world.gen == nil {
		return
	}
	spec := r.a.world.tools[act.Tool]
	if _, used := r.stateMiss[act.Tool]; used {
		r.stateMiss[act.Tool] = false
	}
	for i := range r.merge {
		if r.task.Plan[i].Action.Tool == act.Tool {
			delete(r.merge, i)
		}
	}
	if spec.Ordered[0] != "" {
		r.pairSwap[act.Tool] = false
	}
	for _, as := range spec.Args {
		k := argKey(act.Tool, as.Name)
		if _, used := r.guess[k]; used {
			r.guess[k] = false
		}
		if _, written := act.Args[as.Alias]; as.Alias != "" && written {
			r.alias[k] = false
		}
	}
}
