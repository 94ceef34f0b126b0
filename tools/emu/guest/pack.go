//go:build linux

package main

import (
	"bufio"
	"compress/gzip"
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// packMain writes the initramfs for one run:
//
//	/init          this binary
//	/dev/console   char 5,1, so the kernel gives init a console
//	/emu/prog      the program to run
//	/emu/args      its arguments, NUL-terminated
//	/emu/env       extra environment (-env K=V, repeatable), NUL-terminated
//	/emu/work/...  a copy of -dir DIR, the program's working directory
func packMain(argv []string) {
	fl := flag.NewFlagSet("guest pack", flag.ExitOnError)
	var env listFlag
	fl.Var(&env, "env", "`K=V` to add to the program's environment (repeatable)")
	dir := fl.String("dir", "", "directory to copy into the guest as the program's working directory")
	level := fl.Int("gzip", 0, "gzip `level` (0: a plain cpio archive, which boots fastest under emulation)")
	_ = fl.Parse(argv)
	if fl.NArg() < 2 {
		fmt.Fprintln(os.Stderr, "usage: guest pack [-env K=V]... [-dir DIR] [-gzip N] OUT PROG [ARG...]")
		os.Exit(2)
	}
	if err := pack(fl.Arg(0), fl.Arg(1), fl.Args()[2:], env, *dir, *level); err != nil {
		fmt.Fprintln(os.Stderr, "guest pack:", err)
		os.Exit(1)
	}
}

func pack(path, prog string, args, env []string, dir string, level int) error {
	if err := checkStatic(prog); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	var out io.Writer = bw
	var zw *gzip.Writer
	if level != 0 {
		if zw, err = gzip.NewWriterLevel(bw, level); err != nil {
			return err
		}
		out = zw
	}
	w := &newcWriter{w: out}
	for _, d := range []string{"dev", "proc", "sys", "tmp", "emu"} {
		w.entry(d, 0o040755, 0, 0, nil)
	}
	w.entry("dev/console", 0o020600, 5, 1, nil)
	w.file("init", self, 0o100755)
	w.file("emu/prog", prog, 0o100755)
	w.entry("emu/args", 0o100644, 0, 0, []byte(nulList(args)))
	w.entry("emu/env", 0o100644, 0, 0, []byte(nulList(env)))
	if dir != "" {
		w.tree("emu/work", dir)
	}
	w.entry("TRAILER!!!", 0, 0, 0, nil)
	if w.err != nil {
		return w.err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// checkStatic makes sure prog is an x86-64 ELF program that the guest can
// run: it has no dynamic loader or libc.
func checkStatic(prog string) error {
	f, err := elf.Open(prog)
	if err != nil {
		return fmt.Errorf("%s: %v", prog, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("%s is for %v, not x86-64", prog, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; the guest has no libc (build Go with CGO_ENABLED=0)", prog)
		}
	}
	return nil
}

func nulList(l []string) string {
	var b strings.Builder
	for _, s := range l {
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.String()
}

// newcWriter writes a cpio archive in the "newc" format that the kernel
// unpacks (see the kernel's Documentation/driver-api/early-userspace).
type newcWriter struct {
	w   io.Writer
	ino int
	err error
}

func (w *newcWriter) write(b []byte) {
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

func (w *newcWriter) pad(n int) {
	if r := n % 4; r != 0 {
		w.write(make([]byte, 4-r))
	}
}

func (w *newcWriter) entry(name string, mode uint32, rmajor, rminor int, data []byte) {
	w.ino++
	nlink := 1
	if mode&0o170000 == 0o040000 {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		w.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rmajor, rminor, len(name)+1, 0)
	w.write([]byte(hdr))
	w.write([]byte(name + "\x00"))
	w.pad(len(hdr) + len(name) + 1)
	w.write(data)
	w.pad(len(data))
}

func (w *newcWriter) file(name, src string, mode uint32) {
	data, err := os.ReadFile(src)
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		return
	}
	w.entry(name, mode, 0, 0, data)
}

// tree copies directory src to name, with regular files, directories and
// symbolic links; anything else is skipped.
func (w *newcWriter) tree(name, src string) {
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		dst := filepath.ToSlash(filepath.Join(name, rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		perm := uint32(info.Mode().Perm())
		switch {
		case d.IsDir():
			w.entry(dst, 0o040000|perm, 0, 0, nil)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			w.entry(dst, 0o120777, 0, 0, []byte(target))
		case d.Type().IsRegular():
			w.file(dst, p, 0o100000|perm)
		}
		return w.err
	})
	if err != nil && w.err == nil {
		w.err = err
	}
}
