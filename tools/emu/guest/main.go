//go:build linux

// Command guest is both halves of tools/emu/avx512.sh's tiny Linux guest.
//
// On the host, "guest pack [-env K=V]... [-dir DIR] OUT PROG [ARG...]" writes
// a newc (cpio) initramfs whose /init is this very binary and whose /emu/prog
// is PROG (see pack.go). No root is needed: the archive is written directly,
// device node included.
//
// In the guest, as PID 1, it mounts /dev, /proc, /sys and /tmp, prints the CPU's
// AVX-512 flags, runs /emu/prog with the saved arguments and environment on
// the console, prints the end marker with the exit status and ends the emulator.
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The markers that avx512.sh looks for on the serial console.
const (
	startMarker = "@@ASK-EMU-START@@"
	exitMarker  = "@@ASK-EMU-EXIT" // followed by " STATUS SECONDS@@"
)

func main() {
	if os.Getpid() != 1 {
		if len(os.Args) >= 2 && os.Args[1] == "pack" {
			packMain(os.Args[2:])
			return
		}
		fmt.Fprintln(os.Stderr, "usage: guest pack [flags] OUT PROG [ARG...]   (as PID 1: the guest's init)")
		os.Exit(2)
	}
	initMain()
}

func initMain() {
	mount("devtmpfs", "/dev", "devtmpfs")
	mount("proc", "/proc", "proc")
	mount("sysfs", "/sys", "sysfs")
	mount("tmpfs", "/tmp", "tmpfs")
	console()

	fmt.Printf("ask-emu: %s\n", cpuSummary())
	args := readList("/emu/args")
	env := append([]string{
		"PATH=/emu:/bin", "HOME=/tmp", "TMPDIR=/tmp", "ASK_EMU=1",
	}, readList("/emu/env")...)
	dir := "/emu/work"
	if _, err := os.Stat(dir); err != nil {
		dir = "/tmp"
	}

	fmt.Println(startMarker)
	start := time.Now()
	cmd := exec.Command("/emu/prog", args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr // the console
	status := 0
	if err := cmd.Run(); err != nil {
		status = 125
		if ps := cmd.ProcessState; ps == nil {
			fmt.Printf("ask-emu: cannot run the program: %v\n", err)
		} else if st := ps.Sys().(syscall.WaitStatus); st.Signaled() {
			status = 128 + int(st.Signal())
		} else {
			status = st.ExitStatus()
		}
	}
	// The program's output may not end with a newline: the script finds the
	// marker anywhere in a line. The run's time on the guest clock follows
	// the status, so the script can tell how fast the emulator ran.
	fmt.Printf("%s %d %.3f@@\n", exitMarker, status, time.Since(start).Seconds())
	// Let the UART drain before the power goes.
	_ = unix.IoctlSetInt(1, unix.TCSBRK, 1)
	unix.Sync()
	bochsShutdown()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {} // PID 1 must not exit
}

func mount(src, dst, fstype string) {
	_ = os.MkdirAll(dst, 0o755)
	if err := unix.Mount(src, dst, fstype, 0, ""); err != nil {
		fmt.Fprintf(os.Stderr, "ask-emu: mount %s: %v\n", dst, err)
	}
}

// console makes /dev/console fds 0, 1 and 2, in case the kernel could not
// (the initramfs has /dev/console, so it normally can); stdin is /dev/null.
func console() {
	if f, err := os.OpenFile("/dev/console", os.O_RDWR, 0); err == nil {
		_ = unix.Dup2(int(f.Fd()), 1)
		_ = unix.Dup2(int(f.Fd()), 2)
		f.Close()
	}
	if f, err := os.Open("/dev/null"); err == nil {
		_ = unix.Dup2(int(f.Fd()), 0)
		f.Close()
	}
}

// cpuSummary is the CPU's model name and its avx512* flags from /proc/cpuinfo.
func cpuSummary() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "cpuinfo: " + err.Error()
	}
	model, flags := "?", []string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			model = strings.TrimSpace(v)
		case "flags":
			flags = flags[:0]
			for _, f := range strings.Fields(v) {
				if strings.HasPrefix(f, "avx512") {
					flags = append(flags, f)
				}
			}
		}
	}
	if len(flags) == 0 {
		flags = append(flags, "NONE")
	}
	return fmt.Sprintf("cpu %q, avx512 flags: %s", model, strings.Join(flags, " "))
}

// readList reads a file of NUL-terminated strings; a missing file is empty.
func readList(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(string(bytes.TrimSuffix(b, []byte{0})), "\x00")
}
