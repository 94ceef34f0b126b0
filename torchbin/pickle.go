package torchbin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The unpickler below is deliberately not a general one. Python's pickle
// is a small stack machine whose GLOBAL and REDUCE opcodes import and call
// arbitrary functions: loading an untrusted pickle with Python runs
// whatever code its author chose. This one knows only the opcodes that
// torch.save emits and maps the handful of globals a state dict needs to
// inert Go values; any other global is an error, so nothing is ever
// imported or called.

// ErrUnsafe marks a pickle that names a global outside the allowlist (for
// instance os.system) or uses an opcode torch never writes.
var ErrUnsafe = errors.New("pickle uses something a torch state dict never needs")

// Limits that keep a hostile pickle from exhausting memory: a state dict's
// pickle is small (names, shapes, storage keys), the tensor data lives in
// separate zip entries.
const (
	maxStack  = 1 << 20
	maxMemo   = 1 << 20
	maxString = 1 << 20
	maxRank   = 16
)

// pyGlobal is a class or function named by GLOBAL / STACK_GLOBAL; only the
// allowlisted ones are ever created.
type pyGlobal struct{ module, name string }

// storageRef is a persistent-ID reference to a storage, which torch keeps
// in the zip entry data/<key>.
type storageRef struct {
	dtype string // torch storage class, e.g. FloatStorage
	key   string
	numel int64
}

// tensorRef is what torch._utils._rebuild_tensor_v2 would have built.
type tensorRef struct {
	storage storageRef
	offset  int64 // in elements
	shape   []int64
	stride  []int64
}

// pyDict is a dict or OrderedDict; keys keep insertion order, as a state
// dict's names do.
type pyDict struct {
	keys []any
	vals map[any]any
}

type pyTuple []any
type pyList struct{ items []any }
type pyNone struct{}

// allowed reports whether a global is one a torch state dict uses. A
// switch, not a map, so the allowlist cannot be changed at run time.
func allowed(g pyGlobal) bool {
	switch g.module {
	case "collections":
		return g.name == "OrderedDict"
	case "torch._utils":
		return g.name == "_rebuild_tensor_v2" || g.name == "_rebuild_parameter"
	case "torch":
		_, ok := storageDType(g.name)
		return ok
	}
	return false
}

// unpickle runs the restricted machine over p and returns the top object.
func unpickle(p []byte) (any, error) {
	u := unpickler{p: p, memo: map[int64]any{}}
	v, err := u.run()
	if err != nil {
		return nil, fmt.Errorf("pickle at byte %d: %w", u.pos, err)
	}
	return v, nil
}

type unpickler struct {
	p     []byte
	pos   int
	stack []any
	marks []int
	memo  map[int64]any
}

func (u *unpickler) need(n int) ([]byte, error) {
	if n < 0 || n > len(u.p)-u.pos {
		return nil, errors.New("truncated")
	}
	b := u.p[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *unpickler) line() (string, error) {
	for i := u.pos; i < len(u.p) && i-u.pos < 256; i++ {
		if u.p[i] == '\n' {
			s := string(u.p[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	return "", errors.New("truncated or overlong text line")
}

func (u *unpickler) push(v any) error {
	if len(u.stack) >= maxStack {
		return errors.New("stack too deep")
	}
	u.stack = append(u.stack, v)
	return nil
}

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, errors.New("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, errors.New("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark returns the items pushed since the last MARK.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) memoPut(k int64) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	if _, ok := u.memo[k]; !ok && len(u.memo) >= maxMemo {
		return errors.New("memo too large")
	}
	u.memo[k] = v
	return nil
}

func (u *unpickler) memoGet(k int64) error {
	v, ok := u.memo[k]
	if !ok {
		return fmt.Errorf("memo key %d not set", k)
	}
	return u.push(v)
}

func (u *unpickler) str(n int) error {
	if n > maxString {
		return fmt.Errorf("string of %d bytes is too long for a state dict", n)
	}
	b, err := u.need(n)
	if err != nil {
		return err
	}
	return u.push(string(b))
}

// hashable reports whether v may be a dict key here: the keys of a state
// dict are strings (and ints in nested metadata).
func hashable(v any) bool {
	switch v.(type) {
	case string, int64, bool, pyNone:
		return true
	}
	return false
}

func (d *pyDict) set(k, v any) error {
	if !hashable(k) {
		return fmt.Errorf("dict key of type %s", typeName(k))
	}
	if _, ok := d.vals[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.vals[k] = v
	return nil
}

func newDict() *pyDict { return &pyDict{vals: map[any]any{}} }

func (u *unpickler) run() (any, error) {
	for {
		if u.pos >= len(u.p) {
			return nil, errors.New("truncated: no STOP opcode")
		}
		op := u.p[u.pos]
		u.pos++
		var err error
		switch op {
		case 0x80: // PROTO
			var b []byte
			if b, err = u.need(1); err == nil && b[0] > 5 {
				err = fmt.Errorf("pickle protocol %d is newer than any known", b[0])
			}
		case 0x95: // FRAME: a length hint only
			_, err = u.need(8)
		case '.': // STOP
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			return v, nil
		case '(': // MARK
			if len(u.marks) >= maxStack {
				return nil, errors.New("too many marks")
			}
			u.marks = append(u.marks, len(u.stack))
		case '0': // POP
			_, err = u.pop()
		case '1': // POP_MARK
			_, err = u.popMark()
		case '2': // DUP
			var v any
			if v, err = u.top(); err == nil {
				err = u.push(v)
			}
		case 'N':
			err = u.push(pyNone{})
		case 0x88: // NEWTRUE
			err = u.push(true)
		case 0x89: // NEWFALSE
			err = u.push(false)
		case 'J': // BININT
			var b []byte
			if b, err = u.need(4); err == nil {
				err = u.push(int64(int32(binary.LittleEndian.Uint32(b))))
			}
		case 'K': // BININT1
			var b []byte
			if b, err = u.need(1); err == nil {
				err = u.push(int64(b[0]))
			}
		case 'M': // BININT2
			var b []byte
			if b, err = u.need(2); err == nil {
				err = u.push(int64(binary.LittleEndian.Uint16(b)))
			}
		case 0x8a: // LONG1
			var b []byte
			if b, err = u.need(1); err == nil {
				n := int(b[0])
				if b, err = u.need(n); err == nil {
					var v int64
					v, err = littleSigned(b)
					if err == nil {
						err = u.push(v)
					}
				}
			}
		case 'G': // BINFLOAT (big-endian)
			var b []byte
			if b, err = u.need(8); err == nil {
				err = u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
			}
		case 'X': // BINUNICODE
			var b []byte
			if b, err = u.need(4); err == nil {
				err = u.str(int(binary.LittleEndian.Uint32(b)))
			}
		case 0x8c: // SHORT_BINUNICODE
			var b []byte
			if b, err = u.need(1); err == nil {
				err = u.str(int(b[0]))
			}
		case 'T': // BINSTRING (protocol 2 writes byte strings of Python 2 this way)
			var b []byte
			if b, err = u.need(4); err == nil {
				err = u.str(int(int32(binary.LittleEndian.Uint32(b))))
			}
		case 'U': // SHORT_BINSTRING
			var b []byte
			if b, err = u.need(1); err == nil {
				err = u.str(int(b[0]))
			}
		case 'q': // BINPUT
			var b []byte
			if b, err = u.need(1); err == nil {
				err = u.memoPut(int64(b[0]))
			}
		case 'r': // LONG_BINPUT
			var b []byte
			if b, err = u.need(4); err == nil {
				err = u.memoPut(int64(binary.LittleEndian.Uint32(b)))
			}
		case 0x94: // MEMOIZE
			err = u.memoPut(int64(len(u.memo)))
		case 'h': // BINGET
			var b []byte
			if b, err = u.need(1); err == nil {
				err = u.memoGet(int64(b[0]))
			}
		case 'j': // LONG_BINGET
			var b []byte
			if b, err = u.need(4); err == nil {
				err = u.memoGet(int64(binary.LittleEndian.Uint32(b)))
			}
		case ')': // EMPTY_TUPLE
			err = u.push(pyTuple{})
		case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
			n := int(op - 0x84)
			t := make(pyTuple, n)
			for i := n - 1; i >= 0 && err == nil; i-- {
				t[i], err = u.pop()
			}
			if err == nil {
				err = u.push(t)
			}
		case 't': // TUPLE
			var items []any
			if items, err = u.popMark(); err == nil {
				err = u.push(pyTuple(items))
			}
		case ']': // EMPTY_LIST
			err = u.push(&pyList{})
		case 'a': // APPEND
			var v, l any
			if v, err = u.pop(); err == nil {
				if l, err = u.top(); err == nil {
					err = appendTo(l, v)
				}
			}
		case 'e': // APPENDS
			var items []any
			if items, err = u.popMark(); err == nil {
				var l any
				if l, err = u.top(); err == nil {
					for _, v := range items {
						if err = appendTo(l, v); err != nil {
							break
						}
					}
				}
			}
		case '}': // EMPTY_DICT
			err = u.push(newDict())
		case 's': // SETITEM
			var k, v, d any
			if v, err = u.pop(); err == nil {
				if k, err = u.pop(); err == nil {
					if d, err = u.top(); err == nil {
						err = setItem(d, k, v)
					}
				}
			}
		case 'u': // SETITEMS
			var items []any
			if items, err = u.popMark(); err == nil {
				if len(items)%2 != 0 {
					err = errors.New("SETITEMS with an odd number of items")
					break
				}
				var d any
				if d, err = u.top(); err == nil {
					for i := 0; i < len(items) && err == nil; i += 2 {
						err = setItem(d, items[i], items[i+1])
					}
				}
			}
		case 'c': // GLOBAL
			var mod, name string
			if mod, err = u.line(); err == nil {
				if name, err = u.line(); err == nil {
					err = u.global(mod, name)
				}
			}
		case 0x93: // STACK_GLOBAL
			var m, n any
			if n, err = u.pop(); err == nil {
				if m, err = u.pop(); err == nil {
					ms, ok1 := m.(string)
					ns, ok2 := n.(string)
					if !ok1 || !ok2 {
						err = errors.New("STACK_GLOBAL of non-strings")
						break
					}
					err = u.global(ms, ns)
				}
			}
		case 'Q': // BINPERSID
			var pid any
			if pid, err = u.pop(); err == nil {
				var s storageRef
				if s, err = persistentLoad(pid); err == nil {
					err = u.push(s)
				}
			}
		case 'R': // REDUCE
			var args, fn any
			if args, err = u.pop(); err == nil {
				if fn, err = u.pop(); err == nil {
					var v any
					if v, err = reduce(fn, args); err == nil {
						err = u.push(v)
					}
				}
			}
		case 'b': // BUILD: setstate; only an OrderedDict's empty or _metadata state
			var state, obj any
			if state, err = u.pop(); err == nil {
				if obj, err = u.top(); err == nil {
					err = build(obj, state)
				}
			}
		case 0x81: // NEWOBJ
			var args, cls any
			if args, err = u.pop(); err == nil {
				if cls, err = u.pop(); err == nil {
					var v any
					if v, err = reduce(cls, args); err == nil {
						err = u.push(v)
					}
				}
			}
		default:
			return nil, fmt.Errorf("%w: opcode 0x%02x", ErrUnsafe, op)
		}
		if err != nil {
			return nil, err
		}
	}
}

func (u *unpickler) global(mod, name string) error {
	g := pyGlobal{mod, name}
	if !allowed(g) {
		return fmt.Errorf("%w: global %s.%s is refused (only torch tensor rebuilding and collections.OrderedDict are allowed; never load this file with Python's pickle unless you trust its author)", ErrUnsafe, mod, name)
	}
	return u.push(g)
}

func appendTo(l, v any) error {
	pl, ok := l.(*pyList)
	if !ok {
		return fmt.Errorf("APPEND to a %s", typeName(l))
	}
	if len(pl.items) >= maxStack {
		return errors.New("list too long")
	}
	pl.items = append(pl.items, v)
	return nil
}

func setItem(d, k, v any) error {
	pd, ok := d.(*pyDict)
	if !ok {
		return fmt.Errorf("SETITEM on a %s", typeName(d))
	}
	if len(pd.keys) >= maxStack {
		return errors.New("dict too large")
	}
	return pd.set(k, v)
}

// build accepts the state BUILD gives an OrderedDict: a state dict carries
// its per-module version numbers as the attribute _metadata, which we read
// and drop.
func build(obj, state any) error {
	if _, ok := obj.(*pyDict); !ok {
		return fmt.Errorf("%w: BUILD on a %s", ErrUnsafe, typeName(obj))
	}
	switch s := state.(type) {
	case pyNone:
		return nil
	case *pyDict:
		for _, k := range s.keys {
			if k != "_metadata" {
				return fmt.Errorf("%w: BUILD sets attribute %v", ErrUnsafe, k)
			}
		}
		return nil
	}
	return fmt.Errorf("%w: BUILD with a %s state", ErrUnsafe, typeName(state))
}

// persistentLoad reads torch's storage reference:
// ('storage', storage_type, key, location, numel).
func persistentLoad(pid any) (storageRef, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) != 5 || t[0] != "storage" {
		return storageRef{}, fmt.Errorf("%w: persistent id %s is not a torch storage reference", ErrUnsafe, typeName(pid))
	}
	g, ok := t[1].(pyGlobal)
	if !ok || g.module != "torch" {
		return storageRef{}, fmt.Errorf("%w: storage type %v", ErrUnsafe, t[1])
	}
	key, ok := t[2].(string)
	if !ok {
		return storageRef{}, fmt.Errorf("storage key of type %s", typeName(t[2]))
	}
	if _, ok := t[3].(string); !ok {
		return storageRef{}, fmt.Errorf("storage location of type %s", typeName(t[3]))
	}
	n, ok := t[4].(int64)
	if !ok || n < 0 {
		return storageRef{}, fmt.Errorf("storage size %v", t[4])
	}
	return storageRef{dtype: g.name, key: key, numel: n}, nil
}

func reduce(fn, args any) (any, error) {
	g, ok := fn.(pyGlobal)
	if !ok {
		return nil, fmt.Errorf("%w: call of a %s", ErrUnsafe, typeName(fn))
	}
	a, ok := args.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("%w: call of %s.%s with %s arguments", ErrUnsafe, g.module, g.name, typeName(args))
	}
	switch g {
	case pyGlobal{"collections", "OrderedDict"}:
		if len(a) != 0 {
			return nil, fmt.Errorf("%w: OrderedDict called with arguments", ErrUnsafe)
		}
		return newDict(), nil
	case pyGlobal{"torch._utils", "_rebuild_tensor_v2"}:
		// (storage, storage_offset, size, stride, requires_grad,
		// backward_hooks[, metadata])
		if len(a) < 6 || len(a) > 7 {
			return nil, fmt.Errorf("_rebuild_tensor_v2 with %d arguments", len(a))
		}
		s, ok := a[0].(storageRef)
		if !ok {
			return nil, fmt.Errorf("_rebuild_tensor_v2 of a %s, not a storage", typeName(a[0]))
		}
		off, ok := a[1].(int64)
		if !ok || off < 0 {
			return nil, fmt.Errorf("_rebuild_tensor_v2: storage offset %v", a[1])
		}
		shape, err := ints(a[2])
		if err != nil {
			return nil, fmt.Errorf("_rebuild_tensor_v2 size: %w", err)
		}
		stride, err := ints(a[3])
		if err != nil {
			return nil, fmt.Errorf("_rebuild_tensor_v2 stride: %w", err)
		}
		if len(shape) != len(stride) {
			return nil, fmt.Errorf("_rebuild_tensor_v2: size %v and stride %v differ in rank", shape, stride)
		}
		return &tensorRef{storage: s, offset: off, shape: shape, stride: stride}, nil
	case pyGlobal{"torch._utils", "_rebuild_parameter"}:
		// (data, requires_grad, backward_hooks): a Parameter is its tensor.
		if len(a) != 3 {
			return nil, fmt.Errorf("_rebuild_parameter with %d arguments", len(a))
		}
		t, ok := a[0].(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("_rebuild_parameter of a %s", typeName(a[0]))
		}
		return t, nil
	}
	return nil, fmt.Errorf("%w: call of %s.%s", ErrUnsafe, g.module, g.name)
}

func ints(v any) ([]int64, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("%s, not a tuple", typeName(v))
	}
	if len(t) > maxRank {
		return nil, fmt.Errorf("rank %d", len(t))
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 {
			return nil, fmt.Errorf("element %v", x)
		}
		out[i] = n
	}
	return out, nil
}

func littleSigned(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if len(b) > 8 {
		// Python ints past 64 bits never appear in a state dict's shapes.
		return 0, fmt.Errorf("integer of %d bytes is out of range", len(b))
	}
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	shift := 64 - 8*uint(len(b))
	return int64(v<<shift) >> shift, nil
}

func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case pyNone:
		return "None"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case pyGlobal:
		return x.module + "." + x.name
	case storageRef:
		return "storage"
	case *tensorRef:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}
