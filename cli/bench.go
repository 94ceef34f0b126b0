package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/askqa/ask/engine"
	"github.com/askqa/ask/model"
	"github.com/askqa/ask/tensor"
)

type benchResult struct {
	Model     string  `json:"model"`
	ModelType string  `json:"model_type"`
	Batch     int     `json:"batch"`
	Seq       int     `json:"seq"`
	Threads   int     `json:"threads"`
	Kernel    string  `json:"kernel"`
	Runs      int     `json:"runs"`
	LoadMS    float64 `json:"load_ms"`
	MedianMS  float64 `json:"median_ms"`
	P90MS     float64 `json:"p90_ms"`
	MinMS     float64 `json:"min_ms"`
	GFLOPs    float64 `json:"gflop_per_forward"`
	GFLOPSps  float64 `json:"gflops"`
	WeightsMB float64 `json:"weights_mb"`
	RSSMB     float64 `json:"rss_mb"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
}

func runBench(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "bench", "[MODEL] [--batch B] [--seq S] [--threads T] [--runs N] [--json]\n\n"+
		"Times the model's forward pass on random token ids. MODEL (or --model) is the model, built-in by default.")
	ref := fs.String("model", "", modelFlagHelp)
	batch := fs.Int("batch", 1, "sequences per forward pass")
	seq := fs.Int("seq", 128, "tokens per sequence")
	threads := fs.Int("threads", 0, "threads (0: one per CPU)")
	runs := fs.Int("runs", 20, "timed runs")
	warm := fs.Int("warmup", 3, "untimed warm-up runs")
	asJSON := fs.Bool("json", false, "print one JSON line instead of text")
	addQuantizeFlag(fs, &env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := modelArg(fs, ref, "model"); err != nil {
		return err
	}
	if *batch < 1 || *seq < 1 || *runs < 1 || *warm < 0 {
		return usageErrorf(fs, "--batch, --seq and --runs must be at least 1, --warmup at least 0")
	}
	t := *threads
	if t <= 0 {
		t = runtime.NumCPU()
	}
	start := time.Now()
	enc, dir, err := loadEncoder(ctx, env, *ref, t)
	if err != nil {
		return err
	}
	defer enc.Close()
	load := time.Since(start)
	info := enc.Info()
	if *seq > info.MaxPositions {
		return fmt.Errorf("--seq %d is longer than the model's %d positions", *seq, info.MaxPositions)
	}

	// Random ids (fixed seed) avoid any data-dependent shortcut.
	r := rand.New(rand.NewPCG(1, 2))
	in := model.Batch{Size: *batch, SeqLen: *seq, InputIDs: make([]int32, *batch**seq)}
	for i := range in.InputIDs {
		in.InputIDs[i] = int32(r.IntN(info.VocabSize))
	}
	var out model.Output
	for i := 0; i < *warm; i++ {
		if err := enc.Forward(ctx, &in, &out); err != nil {
			return err
		}
	}
	times := make([]float64, *runs)
	for i := range times {
		t0 := time.Now()
		if err := enc.Forward(ctx, &in, &out); err != nil {
			return err
		}
		times[i] = float64(time.Since(t0).Microseconds()) / 1000
	}
	slices.Sort(times)
	res := benchResult{
		Model: dir, ModelType: info.ModelType, Batch: *batch, Seq: *seq, Threads: t,
		Kernel: tensor.Kernel(), Runs: *runs, LoadMS: float64(load.Microseconds()) / 1000,
		MedianMS: times[len(times)/2], P90MS: times[min(len(times)-1, len(times)*9/10)], MinMS: times[0],
		GFLOPs:    float64(info.FLOPs(*batch, *seq)) / 1e9,
		WeightsMB: float64(info.ParamCount) * 4 / (1 << 20),
	}
	q, err := quantizeMode(env)
	if err != nil {
		return err
	}
	// Label what ran: an int8 checkpoint runs in int8 without --quantize.
	if q, err = engine.Mode(dir, q); err != nil {
		return err
	}
	if q == "int8" {
		res.Kernel = "int8 " + tensor.Int8Kernel() + ", fp32 " + res.Kernel
	}
	res.GFLOPSps = res.GFLOPs / (res.MedianMS / 1000)
	res.RSSMB, res.PeakRSSMB = rssMB()
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(res)
	}
	fmt.Fprintf(env.Stdout, "%s (%s) batch %d × seq %d, %d threads, kernel %s\n", res.Model, res.ModelType, res.Batch, res.Seq, res.Threads, res.Kernel)
	fmt.Fprintf(env.Stdout, "load %.0f ms; forward median %.2f ms, p90 %.2f ms, min %.2f ms over %d runs\n", res.LoadMS, res.MedianMS, res.P90MS, res.MinMS, res.Runs)
	fmt.Fprintf(env.Stdout, "%.2f GFLOP per forward, %.1f GFLOP/s; weights %.0f MB, RSS %.0f MB (peak %.0f MB)\n", res.GFLOPs, res.GFLOPSps, res.WeightsMB, res.RSSMB, res.PeakRSSMB)
	return nil
}

// rssMB reads the resident and peak resident set sizes on Linux; zeros
// elsewhere.
func rssMB() (rss, peak float64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := bytes.Fields(sc.Bytes())
		if len(fields) < 2 {
			continue
		}
		kb, err := strconv.ParseFloat(string(fields[1]), 64)
		if err != nil {
			continue
		}
		switch string(fields[0]) {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak
}
