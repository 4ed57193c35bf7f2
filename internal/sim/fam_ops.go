package sim

import (
	"fmt"
	"strconv"
)

var regions = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
	"eu-central-1", "eu-north-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
	"ap-northeast-2", "sa-east-1", "ca-central-1"}

var services = []string{"payments-api", "checkout-api", "search-svc", "auth-svc", "ledger", "notifier", "catalog-api"}

func deployFamily() *family {
	tools := []ToolSpec{
		{Name: "get_build", Doc: "read a build", Read: true, Args: []ArgSpec{key("build_id", KindID)}},
		{Name: "run_tests", Doc: "run a test suite on a build", Args: []ArgSpec{key("build_id", KindID), key("suite", KindEnum)}},
		{Name: "create_change_request", Doc: "open a change request", Args: []ArgSpec{key("service", KindName), key("build_id", KindID)}},
		{Name: "approve_change", Doc: "approve a change request", Args: []ArgSpec{key("cr_id", KindID)}},
		{Name: "acquire_deploy_lock", Doc: "lock a service for deployment", Args: []ArgSpec{key("service", KindName)}},
		{Name: "run_migrations", Doc: "apply database migrations", Args: []ArgSpec{key("service", KindName), arg("version", KindVersion)}},
		{Name: "check_health", Doc: "read health of a service in a region", Read: true, Args: []ArgSpec{key("service", KindName), key("region", KindName)}},
		{Name: "promote_release", Doc: "promote a canary to full traffic", Args: []ArgSpec{key("service", KindName), key("build_id", KindID), key("region", KindName)}},
		{Name: "tag_release", Doc: "tag the released version", Args: []ArgSpec{key("service", KindName), arg("version", KindVersion)}},
		{Name: "release_deploy_lock", Doc: "unlock a service", Args: []ArgSpec{key("service", KindName)}},
		{Name: "notify_channel", Doc: "post to a chat channel", Args: []ArgSpec{key("channel", KindName), arg("message", KindText)}},
	}
	tools = append(tools, legacyPair("deploy_canary", "deploy", "deploy a build to part of a region's traffic", false,
		key("service", KindName), key("build_id", KindID), key("region", KindName), ctxArg("percent", KindPercent, "25"))...)
	tagAfter := &Rule{ID: "dp.tag-after-promote", Kind: RuleOrdering, Tool: "tag_release", prio: 3,
		Doc: "a release is tagged only once every region is promoted", Mistake: Mistake{Op: OpSwap, Tool: "promote_release"}}
	tagAfter.check = func(e *Env, a Action, st *PlanStep) *StepError {
		if a.Tool != "tag_release" || st == nil {
			return nil
		}
		if done, total := e.doneCount("promote_release"); done < total {
			return tagAfter.fail(ClassFailedPrecondition, fmt.Sprintf("cannot tag release %s: promoted in %d of %d regions", st.Natural["version"], done, total))
		}
		return nil
	}
	migrations := requires("dp.migrations", RulePrecondition, []string{"deploy_canary"}, "run_migrations", nil, nil, ClassAborted,
		"migrations run before the first canary, or the deploy breaks production",
		func(e *Env, a Action, st *PlanStep) string {
			v := 40 + e.rng.IntN(20)
			return fmt.Sprintf("canary failed: schema version %d expected, database at %d; build %s rolled back and service frozen (INC-%d)",
				v+1, v, nat(a, st, "build_id"), e.trace())
		})
	migrations.Fatal = true
	rules := []*Rule{
		requires("dp.health-gate", RulePrecondition, []string{"promote_release"}, "check_health", []string{"region"}, nil,
			ClassFailedPrecondition, "each region's health is checked after its canary",
			msgf("promotion of build %s blocked: no health check recorded after canary (gate G-104)", "nat:build_id")),
		tagAfter,
		strictFormat("dp.semver", "tag_release", "version", "tags are bare semver",
			msgf(`invalid version "%s": expected MAJOR.MINOR.PATCH (build %s)`, "arg:version", "param:build")),
		deprecated("dp.deploy-legacy", "deploy", "deploy was replaced by deploy_canary",
			msgf("tool deploy is disabled for production since 2024-09-30 (RFC-118); build %s not deployed", "nat:build_id")),
		migrations,
		contextValue("dp.tier0-canary", "deploy_canary", "percent", func(e *Env, _ *PlanStep) bool { return e.t.Params["tier"] == "0" },
			ClassInvalidArgument, "tier-0 services canary at most 5%",
			msgf("canary of %s%% exceeds the 5%% limit for tier-0 services (build %s)", "arg:percent", "nat:build_id")),
		requires("dp.approve-before-lock", RuleOrdering, []string{"acquire_deploy_lock"}, "approve_change", nil, nil,
			ClassFailedPrecondition, "the change is approved before the service is locked",
			msgf("deploy lock refused: change %s is not approved (lock service L-7, trace %d)", "param:cr", "trace")),
	}
	build := func(b *builder, units int) {
		svc := b.param("service", pick(b.rng, services))
		tier := b.param("tier", strconv.Itoa(b.rng.IntN(3)))
		bld := b.param("build", b.id("BLD", 4))
		cr := b.param("cr", b.id("CR", 5))
		version := b.param("version", fmt.Sprintf("%d.%d.%d", 1+b.rng.IntN(9), b.rng.IntN(30), b.rng.IntN(10)))
		percent := "10"
		if tier == "0" {
			percent = "5"
		}
		b.step("get_build", "build_id", bld)
		for _, s := range []string{"unit", "integration", "e2e"} {
			b.step("run_tests", "build_id", bld, "suite", s)
		}
		b.step("create_change_request", "service", svc, "build_id", bld)
		b.step("approve_change", "cr_id", cr)
		b.step("acquire_deploy_lock", "service", svc)
		b.aux("dp.migrations", "run_migrations", "service", svc, "version", version)
		for i, r := range pickN(b.rng, regions, units) {
			b.param(fmt.Sprintf("region_%d", i+1), r)
			b.step("deploy_canary", "service", svc, "build_id", bld, "region", r, "percent", percent)
			b.aux("dp.health-gate", "check_health", "service", svc, "region", r)
			b.step("promote_release", "service", svc, "build_id", bld, "region", r)
		}
		b.step("tag_release", "service", svc, "version", version)
		b.step("release_deploy_lock", "service", svc)
		b.step("notify_channel", "channel", "deploys", "message", "released "+version)
		b.say("Release build %s (version %s) of %s (tier %s) to %d regions under change %s.", bld, version, svc, tier, units, cr)
	}
	return &family{name: "deployments", tools: tools, rules: rules, minUnits: 1, maxUnits: 16, build: build}
}

func pipelineFamily() *family {
	tools := []ToolSpec{
		{Name: "register_source", Doc: "register a data source", Args: []ArgSpec{key("source_id", KindID), arg("uri", KindText)}},
		{Name: "create_dataset", Doc: "create a dataset", Args: []ArgSpec{key("dataset", KindName), arg("schema_version", KindInt)}},
		{Name: "run_transform", Doc: "transform one partition", Args: []ArgSpec{key("job_id", KindID), arg("partition", KindPartition)}},
		{Name: "get_job_status", Doc: "poll a job", Read: true, Args: []ArgSpec{key("job_id", KindID)}},
		{Name: "validate_schema", Doc: "validate a dataset's schema", Args: []ArgSpec{key("dataset", KindName), arg("schema_version", KindInt)}},
		{Name: "publish_table", Doc: "publish a dataset as a table", Args: []ArgSpec{key("dataset", KindName), arg("table", KindName)}},
		{Name: "grant_access", Doc: "grant a group read access", Args: []ArgSpec{key("table", KindName), key("group_id", KindID)}},
	}
	tools = append(tools, legacyPair("run_extract", "trigger_job", "extract from a source since a time", false,
		key("source_id", KindID), arg("since", KindTimestamp))...)
	rules := []*Rule{
		strictFormat("dt.partition-format", "run_transform", "partition", "partitions are hive-style",
			msgf(`partition spec "%s" invalid for job %s: expected dt=YYYY-MM-DD`, "arg:partition", "nat:job_id")),
		requires("dt.validate-before-publish", RulePrecondition, []string{"publish_table"}, "validate_schema", nil, nil,
			ClassFailedPrecondition, "schemas are validated before publishing",
			msgf("publish rejected: schema version %s of the dataset is not validated (check C-2201)", "param:schema")),
		quota("dt.status-quota", "get_job_status", "one status poll per job",
			msgf("429: get_job_status allows 1 call per job per 60s (job %s, retry after %d ms)", "nat:job_id", "trace")),
		deprecated("dt.trigger-job", "trigger_job", "trigger_job was replaced by run_extract",
			msgf("trigger_job has been removed (scheduler v2 migration, notice N-2207, trace %d)", "trace")),
		driftFormat("dt.since-epoch", "run_extract", "since", 1, "extract cursors become epoch seconds",
			msgf(`since "%s" is not a valid RFC 3339 timestamp (source %s)`, "arg:since", "nat:source_id"),
			msgf(`since "%s" rejected: connector v5 expects epoch seconds (source %s)`, "arg:since", "nat:source_id")),
		requires("dt.publish-before-grant", RuleOrdering, []string{"grant_access"}, "publish_table", nil, nil,
			ClassNotFound, "tables exist only once published",
			msgf("cannot grant access to group %s: table does not exist yet (trace %d)", "nat:group_id", "trace")),
	}
	build := func(b *builder, units int) {
		src := b.param("source", b.id("SRC", 4))
		ds := b.param("dataset", pick(b.rng, []string{"sales_daily", "events_raw", "orders_clean", "ad_clicks"}))
		schema := b.param("schema", strconv.Itoa(2+b.rng.IntN(20)))
		table := b.param("table", "analytics."+ds)
		since := b.param("since", fmt.Sprintf("2025-%02d-01T00:00:00Z", 1+b.rng.IntN(12)))
		b.step("register_source", "source_id", src, "uri", "s3://lake/"+ds)
		b.step("create_dataset", "dataset", ds, "schema_version", schema)
		b.step("run_extract", "source_id", src, "since", since)
		day := 1 + b.rng.IntN(3)
		for i := range units {
			job := b.param(fmt.Sprintf("job_%d", i+1), b.id("JOB", 5))
			part := b.param(fmt.Sprintf("partition_%d", i+1), fmt.Sprintf("dt=2025-%02d-%02d", 1+(day+i)/28, 1+(day+i)%28))
			b.step("run_transform", "job_id", job, "partition", part)
			b.step("get_job_status", "job_id", job)
		}
		b.aux("dt.validate-before-publish", "validate_schema", "dataset", ds, "schema_version", schema)
		b.step("publish_table", "dataset", ds, "table", table)
		for i := range 1 + b.rng.IntN(3) {
			b.step("grant_access", "table", table, "group_id", b.param(fmt.Sprintf("group_%d", i+1), b.id("GRP", 3)))
		}
		b.say("Load %d partitions of %s from source %s since %s, publish it as %s and grant access.", units, ds, src, since, table)
	}
	return &family{name: "pipelines", tools: tools, rules: rules, minUnits: 2, maxUnits: 27, build: build}
}

func incidentFamily() *family {
	tools := []ToolSpec{
		{Name: "open_incident", Doc: "open an incident", Args: []ArgSpec{key("incident_id", KindID), arg("severity", KindEnum)}},
		{Name: "get_metrics", Doc: "read a service's metrics over a window", Read: true, Args: []ArgSpec{key("service", KindName), arg("window", KindDuration)}},
		{Name: "get_pod_logs", Doc: "read a pod's logs", Read: true, Args: []ArgSpec{key("pod_id", KindID)}},
		{Name: "drain_pod", Doc: "take a pod out of the load balancer", Args: []ArgSpec{key("pod_id", KindID)}},
		{Name: "restart_pod", Doc: "restart a pod", Args: []ArgSpec{key("pod_id", KindID)}},
		{Name: "scale_service", Doc: "set a service's replica count", Args: []ArgSpec{key("service", KindName), arg("replicas", KindInt)}},
		{Name: "post_status_update", Doc: "post to the status page", Args: []ArgSpec{key("incident_id", KindID), arg("message", KindText)}},
		{Name: "create_postmortem", Doc: "start a postmortem document", Args: []ArgSpec{key("incident_id", KindID)}},
		{Name: "close_incident", Doc: "close an incident", Args: []ArgSpec{key("incident_id", KindID), arg("root_cause", KindText)}},
	}
	tools = append(tools, legacyPair("page_oncall", "page_team", "page a team's on-call engineer", false,
		key("team", KindName), key("incident_id", KindID))...)
	highSev := func(e *Env, _ *PlanStep) bool { s := e.t.Params["severity"]; return s == "sev1" || s == "sev2" }
	rules := []*Rule{
		strictFormat("in.window-format", "get_metrics", "window", "metric windows are short durations",
			msgf(`invalid window "%s": expected a duration like 15m or 1h (incident %s)`, "arg:window", "param:incident")),
		requires("in.drain-before-restart", RuleOrdering, []string{"restart_pod"}, "drain_pod", []string{"pod_id"}, nil,
			ClassFailedPrecondition, "pods are drained before a restart",
			msgf("pod %s is still receiving traffic; drain it before restarting (lb LB-22)", "nat:pod_id")),
		requires("in.postmortem-sev", RuleContext, []string{"close_incident"}, "create_postmortem", nil, highSev,
			ClassFailedPrecondition, "sev1 and sev2 incidents need a postmortem before closing",
			msgf("incident %s (%s) cannot be closed without a postmortem", "param:incident", "param:severity")),
		deprecated("in.page-team", "page_team", "page_team was replaced by page_oncall",
			msgf("page_team was removed; paging integration v1 sunset on 2024-08-15 (ref PD-3321, trace %d)", "trace")),
		quota("in.metrics-quota", "get_metrics", "one metrics query per service per incident",
			msgf("429: metrics API budget exhausted for incident %s (1/1 queries, trace %d)", "param:incident", "trace")),
	}
	build := func(b *builder, units int) {
		inc := b.param("incident", b.id("INC", 4))
		sev := b.param("severity", pick(b.rng, []string{"sev1", "sev2", "sev3", "sev4"}))
		svc := b.param("service", pick(b.rng, services))
		b.step("open_incident", "incident_id", inc, "severity", sev)
		b.step("page_oncall", "team", pick(b.rng, []string{"sre", "platform", "payments"}), "incident_id", inc)
		b.step("get_metrics", "service", svc, "window", pick(b.rng, []string{"15m", "30m", "1h"}))
		for i := range units {
			pod := b.param(fmt.Sprintf("pod_%d", i+1), b.id("POD", 5))
			b.step("get_pod_logs", "pod_id", pod)
			b.step("drain_pod", "pod_id", pod)
			b.step("restart_pod", "pod_id", pod)
		}
		b.step("scale_service", "service", svc, "replicas", strconv.Itoa(3+b.rng.IntN(6)))
		b.step("post_status_update", "incident_id", inc, "message", "mitigated")
		if sev == "sev1" || sev == "sev2" {
			b.aux("in.postmortem-sev", "create_postmortem", "incident_id", inc)
		}
		b.step("close_incident", "incident_id", inc, "root_cause", "bad config push")
		b.say("Handle incident %s (%s) on %s: restart %d unhealthy pods, scale the service, update the status page and close it.", inc, sev, svc, units)
	}
	return &family{name: "incidents", tools: tools, rules: rules, minUnits: 1, maxUnits: 18, build: build}
}
