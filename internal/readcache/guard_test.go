package readcache

import "testing"

func TestToolsKeyTellsListsApart(t *testing.T) {
	lists := [][]string{{}, {""}, {"", ""}, {"a"}, {"a", "b"}, {"a\x00b"}, {"ab"}, {"1:a"}, {"b", "a"}, {"a:b"}, {"a", ":b"}}
	seen := map[string][]string{}
	for _, l := range lists {
		k := toolsKey(l)
		if prev, ok := seen[k]; ok {
			t.Fatalf("%q and %q share the key %q", prev, l, k)
		}
		seen[k] = l
	}
}
