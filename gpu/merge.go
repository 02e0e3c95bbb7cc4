package gpu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Merging two compute programs into one dispatch. Decode's Q, K and V
// products of a model with mixed weight types (Q4_K_M: Q4_K for Q and K,
// Q6_K for V in ten of TinyLlama's 22 layers) are two fused kernels. Each
// costs mostly fixed latency (on an H100 11-12 µs for 2.9 MB where 3 TB/s
// would take 1), so one dispatch that runs the first program's workgroups
// and then the second's saves one of them. mergeEntries does that on the
// WGSL text: the second program's top-level names that differ from the
// first's are renamed, its private bindings get new binding numbers, and a
// new entry point sends workgroups 0 .. nwa-1 to the first program's main
// and the rest to the second's (workgroup_id is uniform, so their barriers
// stay in uniform control flow).

// wgslItem is one top-level declaration of a WGSL module.
type wgslItem struct {
	kind    string // fn, struct, const, override, var, alias
	name    string
	text    string // the whole declaration, attributes included
	binding int    // @binding(n) of a resource variable, else -1
}

var (
	wgslIdent   = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	wgslBinding = regexp.MustCompile(`@binding\(\s*(\d+)\s*\)`)
	wgslBuiltin = regexp.MustCompile(`@builtin\(\s*(\w+)\s*\)`)
	wgslAttr    = regexp.MustCompile(`^@\w+(\s*\([^()]*\))?`)
	wgslSpace   = regexp.MustCompile(`\s+`)
	wgslWGSize  = regexp.MustCompile(`@workgroup_size\([^)]*\)`)
)

// stripComments removes // comments (WGSL has no string literals).
func stripComments(src string) string {
	var b strings.Builder
	for _, line := range strings.Split(src, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		if strings.TrimSpace(line) != "" {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// parseWGSL splits src (without comments) into its top-level declarations.
func parseWGSL(src string) ([]wgslItem, error) {
	var items []wgslItem
	i := 0
	for {
		for i < len(src) && strings.ContainsRune(" \t\r\n", rune(src[i])) {
			i++
		}
		if i >= len(src) {
			return items, nil
		}
		start := i
		for src[i] == '@' {
			m := wgslAttr.FindString(src[i:])
			if m == "" {
				return nil, fmt.Errorf("gpu: merge: bad attribute at %q", head(src[i:]))
			}
			i += len(m)
			for i < len(src) && strings.ContainsRune(" \t\r\n", rune(src[i])) {
				i++
			}
			if i >= len(src) {
				return nil, fmt.Errorf("gpu: merge: attribute without declaration")
			}
		}
		kw := wgslIdent.FindString(src[i:])
		it := wgslItem{kind: kw, binding: -1}
		depth := 0
		end := -1
		for j := i + len(kw); j < len(src) && end < 0; j++ {
			switch src[j] {
			case '(', '[', '{':
				depth++
			case ')', ']':
				depth--
			case '}':
				depth--
				if depth == 0 && (kw == "fn" || kw == "struct") {
					end = j + 1
					if end < len(src) && src[end] == ';' {
						end++
					}
				}
			case ';':
				if depth == 0 && kw != "fn" && kw != "struct" {
					end = j + 1
				}
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("gpu: merge: unterminated %s at %q", kw, head(src[start:]))
		}
		it.text = src[start:end]
		rest := src[i+len(kw) : end]
		switch kw {
		case "fn", "struct", "const", "override", "alias":
			it.name = wgslIdent.FindString(rest)
		case "var":
			if strings.HasPrefix(strings.TrimSpace(rest), "<") {
				rest = rest[strings.Index(rest, ">")+1:]
			}
			it.name = wgslIdent.FindString(rest)
			if m := wgslBinding.FindStringSubmatch(src[start:i]); m != nil {
				it.binding, _ = strconv.Atoi(m[1])
			}
		default:
			return nil, fmt.Errorf("gpu: merge: unknown declaration %q", head(src[start:]))
		}
		if it.name == "" {
			return nil, fmt.Errorf("gpu: merge: unnamed %s at %q", kw, head(src[start:]))
		}
		items = append(items, it)
		i = end
	}
}

func head(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

// refs returns the identifiers of text that name items of names, except
// those after a '.' (members and swizzles).
func refs(text string, names map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, loc := range wgslIdent.FindAllStringIndex(text, -1) {
		id := text[loc[0]:loc[1]]
		if names[id] && !afterDot(text, loc[0]) {
			out[id] = true
		}
	}
	return out
}

func afterDot(text string, i int) bool {
	for i--; i >= 0; i-- {
		switch text[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '.':
			return true
		}
		return false
	}
	return false
}

// rename replaces the identifiers of text found in to (not members,
// swizzles or, in a struct, its member names).
func rename(text string, to map[string]string, isStruct bool) string {
	var b strings.Builder
	last := 0
	for _, loc := range wgslIdent.FindAllStringIndex(text, -1) {
		id := text[loc[0]:loc[1]]
		n, ok := to[id]
		if !ok || afterDot(text, loc[0]) {
			continue
		}
		if isStruct && strings.HasPrefix(strings.TrimLeft(text[loc[1]:], " \t\r\n"), ":") {
			continue
		}
		b.WriteString(text[last:loc[0]])
		b.WriteString(n)
		last = loc[1]
	}
	b.WriteString(text[last:])
	return b.String()
}

// entryParams returns the builtins of a compute entry point's parameters in
// order, with their names and types ("wid: vec3<u32>").
func entryParams(fn string) (builtins, params []string, err error) {
	// the parameter list: from the first '(' after "fn main" to its match
	i := strings.Index(fn, "fn ")
	if i < 0 || !strings.Contains(fn[i:], "(") {
		return nil, nil, fmt.Errorf("gpu: merge: entry point without parameters")
	}
	p0 := i + strings.Index(fn[i:], "(")
	depth := 0
	p1 := -1
	for j := p0; j < len(fn) && p1 < 0; j++ {
		switch fn[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				p1 = j
			}
		}
	}
	if p1 < 0 {
		return nil, nil, fmt.Errorf("gpu: merge: unterminated parameter list")
	}
	for _, p := range strings.Split(fn[p0+1:p1], ",") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		m := wgslBuiltin.FindStringSubmatch(p)
		np := strings.TrimSpace(wgslBuiltin.ReplaceAllString(p, ""))
		if m == nil || !strings.Contains(np, ":") {
			return nil, nil, fmt.Errorf("gpu: merge: entry parameter %q is not a typed builtin", strings.TrimSpace(p))
		}
		builtins = append(builtins, m[1])
		params = append(params, np)
	}
	return builtins, params, nil
}

// plainFn turns the entry point fn into an ordinary function called name:
// no attributes, no builtins on its parameters.
func plainFn(fn, name string) string {
	i := strings.Index(fn, "fn ")
	s := fn[i:]
	s = "fn " + name + s[len("fn main"):]
	return wgslBuiltin.ReplaceAllString(s, "")
}

// mergeEntries returns one module running a's entry point "main" in
// workgroups 0 .. nwa-1 of a one-row grid (x only) and b's in the rest,
// with b seeing its own workgroup ids and count from 0. Both must have the
// same workgroup size. A resource variable of b whose binding shared(n)
// says holds the same buffer as a's binding n, declared alike, is a's;
// the others get new binding numbers after a's largest, listed in extra
// (b's binding numbers, in the order of their new ones).
func mergeEntries(a, b string, nwa int, shared func(binding int) bool) (src string, extra []int, err error) {
	ia, err := parseWGSL(stripComments(a))
	if err != nil {
		return "", nil, err
	}
	ib, err := parseWGSL(stripComments(b))
	if err != nil {
		return "", nil, err
	}
	byName := map[string]wgslItem{}
	maxBinding := -1
	for _, it := range ia {
		byName[it.name] = it
		maxBinding = max(maxBinding, it.binding)
	}
	norm := func(s string) string { return wgslSpace.ReplaceAllString(strings.TrimSpace(s), " ") }
	bNames := map[string]bool{}
	for _, it := range ib {
		if bNames[it.name] {
			return "", nil, fmt.Errorf("gpu: merge: %s declared twice", it.name)
		}
		bNames[it.name] = true
	}
	// b's items shared with a: alike, and referring only to shared items
	share := map[string]bool{}
	for _, it := range ib {
		o, ok := byName[it.name]
		if !ok || it.name == "main" || norm(o.text) != norm(it.text) {
			continue
		}
		if it.binding >= 0 && (o.binding != it.binding || !shared(it.binding)) {
			continue
		}
		share[it.name] = true
	}
	for changed := true; changed; {
		changed = false
		for _, it := range ib {
			if !share[it.name] {
				continue
			}
			for r := range refs(it.text, bNames) {
				if !share[r] && r != it.name {
					share[it.name] = false
					changed = true
					break
				}
			}
		}
	}
	taken := map[string]bool{}
	for n := range byName {
		taken[n] = true
	}
	for n := range bNames {
		taken[n] = true
	}
	to := map[string]string{}
	for _, it := range ib {
		if share[it.name] {
			continue
		}
		n := it.name + "_mb"
		for taken[n] {
			n += "_"
		}
		taken[n] = true
		to[it.name] = n
	}
	mainA, okA := byName["main"]
	var mainB wgslItem
	for _, it := range ib {
		if it.name == "main" {
			mainB = it
		}
	}
	if !okA || mainB.name == "" {
		return "", nil, fmt.Errorf("gpu: merge: no entry point main")
	}
	bA, pA, err := entryParams(mainA.text)
	if err != nil {
		return "", nil, err
	}
	bB, _, err := entryParams(mainB.text)
	if err != nil {
		return "", nil, err
	}
	if strings.Join(bA, ",") != strings.Join(bB, ",") {
		return "", nil, fmt.Errorf("gpu: merge: entry points take different builtins")
	}
	wgA := wgslWGSize.FindString(mainA.text)
	wgB := wgslWGSize.FindString(mainB.text)
	if wgA == "" || rename(wgB, to, false) != wgA {
		return "", nil, fmt.Errorf("gpu: merge: workgroup sizes %q and %q differ", wgA, wgB)
	}
	var out strings.Builder
	for _, it := range ia {
		if it.name == "main" {
			out.WriteString(plainFn(it.text, "main_ma"))
		} else {
			out.WriteString(it.text)
		}
		out.WriteString("\n")
	}
	next := maxBinding + 1
	for _, it := range ib {
		if share[it.name] {
			continue
		}
		text := it.text
		if it.name == "main" {
			text = plainFn(text, "main")
		}
		if it.binding >= 0 {
			extra = append(extra, it.binding)
			text = wgslBinding.ReplaceAllString(text, fmt.Sprintf("@binding(%d)", next))
			next++
		}
		out.WriteString(rename(text, to, it.kind == "struct"))
		out.WriteString("\n")
	}
	// the entry point: b's workgroups see ids and counts from 0
	var params, argsA, argsB []string
	wid := ""
	for k, bi := range bA {
		p := pA[k]
		name := strings.TrimSpace(p[:strings.Index(p, ":")])
		params = append(params, fmt.Sprintf("@builtin(%s) %s", bi, p))
		switch bi {
		case "workgroup_id":
			wid = name
			argsA = append(argsA, name)
			argsB = append(argsB, fmt.Sprintf("vec3<u32>(%s.x - %du, %s.y, %s.z)", name, nwa, name, name))
		case "num_workgroups":
			argsA = append(argsA, fmt.Sprintf("vec3<u32>(%du, %s.y, %s.z)", nwa, name, name))
			argsB = append(argsB, fmt.Sprintf("vec3<u32>(%s.x - %du, %s.y, %s.z)", name, nwa, name, name))
		case "global_invocation_id":
			return "", nil, fmt.Errorf("gpu: merge: global_invocation_id is not remapped")
		default:
			argsA = append(argsA, name)
			argsB = append(argsB, name)
		}
	}
	if wid == "" {
		return "", nil, fmt.Errorf("gpu: merge: entry point without workgroup_id")
	}
	fmt.Fprintf(&out, "@compute %s\nfn main(%s) {\n    if (%s.x < %du) {\n        main_ma(%s);\n        return;\n    }\n    %s(%s);\n}\n",
		wgA, strings.Join(params, ", "), wid, nwa, strings.Join(argsA, ", "), to["main"], strings.Join(argsB, ", "))
	return out.String(), extra, nil
}
