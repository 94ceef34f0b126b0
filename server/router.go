package server

import (
	"net/http"
	"strings"
)

// match finds the route of a path, setting its template's values on r.
func (rt *router) match(r *http.Request) (*route, bool) {
	if ro, ok := rt.routes[r.URL.Path]; ok {
		return ro, true
	}
	for _, ro := range rt.templates {
		if vals, ok := matchTemplate(ro.path, r.URL.Path); ok {
			for k, v := range vals {
				r.SetPathValue(k, v)
			}
			return ro, true
		}
	}
	return nil, false
}

// matchTemplate matches path against a template, returning the values of
// its {name} segments. Empty segments never match a name.
func matchTemplate(tmpl, path string) (map[string]string, bool) {
	ts := strings.Split(strings.TrimPrefix(tmpl, "/"), "/")
	ps := strings.Split(strings.TrimPrefix(path, "/"), "/")
	vals := map[string]string{}
	for i, t := range ts {
		if i >= len(ps) {
			return nil, false
		}
		name, isVar := strings.CutPrefix(t, "{")
		if !isVar {
			if t != ps[i] {
				return nil, false
			}
			continue
		}
		name = strings.TrimSuffix(name, "}")
		if rest, ok := strings.CutSuffix(name, "..."); ok {
			v := strings.Join(ps[i:], "/")
			if v == "" {
				return nil, false
			}
			vals[rest] = v
			return vals, true
		}
		if ps[i] == "" {
			return nil, false
		}
		vals[name] = ps[i]
	}
	return vals, len(ps) == len(ts)
}
