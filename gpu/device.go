// Package gpu is the WebGPU backend: it runs the Llama forward pass with WGSL
// compute shaders through wgpu-native (github.com/cogentcore/webgpu). Weights
// stay in their GGUF block layout on the GPU and are dequantized inside the
// matrix kernels.
package gpu

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cogentcore/webgpu/wgpu"
)

// Options selects and tunes the WebGPU device.
type Options struct {
	// AllowSoftware permits a software adapter (lavapipe, llvmpipe: adapter
	// type CPU). The environment variable HEARTH_GPU_ALLOW_SOFTWARE=1 does
	// the same. Without either, only hardware adapters are used.
	AllowSoftware bool
	// Adapter, when not empty, picks the first adapter whose name contains
	// it (case-insensitive).
	Adapter string
	// Profile records GPU timestamps per kernel where the adapter supports
	// timestamp queries (see (*Backend).Profile).
	Profile bool
}

// ErrNoAdapter reports that no usable WebGPU adapter exists. hearth's "auto"
// backend falls back to the CPU on it.
var ErrNoAdapter = errors.New("gpu: no usable WebGPU adapter")

// AllowSoftwareEnv is the environment variable that lets software adapters
// through (tests set it to 1).
const AllowSoftwareEnv = "HEARTH_GPU_ALLOW_SOFTWARE"

// device is an opened adapter with its device, queue and error scopes.
type device struct {
	inst    *wgpu.Instance
	adapter *wgpu.Adapter
	dev     *wgpu.Device
	queue   *wgpu.Queue
	info    wgpu.AdapterInfo
	limits  wgpu.Limits
	scope   *errorScope
	// software: the adapter is a CPU implementation (isSoftware, decided
	// once: isSoftware allocates, and submit asks every token)
	software bool
	// timestamps: the device was opened with timestamp queries (Options.Profile).
	timestamps bool
}

func allowSoftware(g Options) bool {
	return g.AllowSoftware || os.Getenv(AllowSoftwareEnv) == "1"
}

// isSoftware tells whether an adapter is a CPU implementation.
func isSoftware(info wgpu.AdapterInfo) bool {
	if info.AdapterType == wgpu.AdapterTypeCPU {
		return true
	}
	n := strings.ToLower(info.Name + " " + info.DriverDescription)
	return strings.Contains(n, "llvmpipe") || strings.Contains(n, "lavapipe") ||
		strings.Contains(n, "swiftshader") || strings.Contains(n, "software")
}

func adapterRank(info wgpu.AdapterInfo) int {
	switch {
	case isSoftware(info):
		return 0
	case info.AdapterType == wgpu.AdapterTypeDiscreteGPU:
		return 3
	case info.AdapterType == wgpu.AdapterTypeIntegratedGPU:
		return 2
	default:
		return 1
	}
}

// newInstance creates a WebGPU instance. wgpu-native logs warnings to
// stderr by default (missing Vulkan extensions, no window system), which
// would bury Hearth's own one-line errors; it logs only errors unless
// HEARTH_GPU_LOG names another level (off, error, warn, info, debug, trace).
func newInstance() *wgpu.Instance {
	level := wgpu.LogLevelError
	switch strings.ToLower(os.Getenv("HEARTH_GPU_LOG")) {
	case "off":
		level = wgpu.LogLevelOff
	case "warn":
		level = wgpu.LogLevelWarn
	case "info":
		level = wgpu.LogLevelInfo
	case "debug":
		level = wgpu.LogLevelDebug
	case "trace":
		level = wgpu.LogLevelTrace
	}
	wgpu.SetLogLevel(level)
	return wgpu.CreateInstance(nil)
}

// Adapters lists the adapters WebGPU sees, as "name (type, backend)".
func Adapters() []string {
	inst := newInstance()
	defer inst.Release()
	var out []string
	for _, a := range inst.EnumerateAdapters(nil) {
		info := a.GetInfo()
		out = append(out, fmt.Sprintf("%s (%s, %s)", info.Name, info.AdapterType, info.BackendType))
		a.Release()
	}
	return out
}

// openDevice picks the best adapter allowed by g and requests a device with
// the adapter's largest buffer limits.
func openDevice(g Options) (*device, error) {
	inst := newInstance()
	adapters := inst.EnumerateAdapters(nil)
	var best *wgpu.Adapter
	var bestInfo wgpu.AdapterInfo
	bestRank := -1
	var seen []string
	for _, a := range adapters {
		info := a.GetInfo()
		seen = append(seen, fmt.Sprintf("%q (%s)", info.Name, info.AdapterType))
		r := adapterRank(info)
		ok := r > 0 || allowSoftware(g)
		if g.Adapter != "" && !strings.Contains(strings.ToLower(info.Name), strings.ToLower(g.Adapter)) {
			ok = false
		}
		if info.BackendType == wgpu.BackendTypeOpenGL || info.BackendType == wgpu.BackendTypeOpenGLES {
			ok = false // no storage-buffer limits worth using
		}
		if ok && r > bestRank {
			if best != nil {
				best.Release()
			}
			best, bestInfo, bestRank = a, info, r
			continue
		}
		a.Release()
	}
	if best == nil {
		inst.Release()
		msg := "none found"
		if len(seen) > 0 {
			msg = "saw " + strings.Join(seen, ", ") + "; software adapters need " + AllowSoftwareEnv + "=1"
		}
		return nil, fmt.Errorf("%w (%s)", ErrNoAdapter, msg)
	}
	al := best.GetLimits().Limits
	req := wgpu.DefaultLimits()
	req.MaxStorageBuffersPerShaderStage = min(al.MaxStorageBuffersPerShaderStage, 10)
	req.MaxComputeWorkgroupStorageSize = al.MaxComputeWorkgroupStorageSize
	req.MaxComputeInvocationsPerWorkgroup = min(al.MaxComputeInvocationsPerWorkgroup, 1024)
	req.MaxComputeWorkgroupSizeX = min(al.MaxComputeWorkgroupSizeX, 1024)
	// The largest buffers and bindings the adapter allows (128 MiB on
	// lavapipe, 2 GiB or more on discrete cards); bigger tensors are split.
	req.MaxBufferSize = al.MaxBufferSize
	req.MaxStorageBufferBindingSize = al.MaxStorageBufferBindingSize
	var feats []wgpu.FeatureName
	timestamps := g.Profile && best.HasFeature(wgpu.FeatureNameTimestampQuery)
	if timestamps {
		feats = append(feats, wgpu.FeatureNameTimestampQuery)
	}
	dev, err := best.RequestDevice(&wgpu.DeviceDescriptor{
		Label:            "hearth",
		RequiredFeatures: feats,
		RequiredLimits:   &wgpu.RequiredLimits{Limits: req},
	})
	if err != nil {
		best.Release()
		inst.Release()
		return nil, fmt.Errorf("gpu: %s: request device: %w", bestInfo.Name, err)
	}
	d := &device{inst: inst, adapter: best, dev: dev, queue: dev.GetQueue(), info: bestInfo, limits: dev.GetLimits().Limits,
		software: isSoftware(bestInfo)}
	d.scope = newErrorScope(dev)
	d.timestamps = timestamps
	return d, nil
}

func (d *device) release() {
	if d == nil {
		return
	}
	d.scope.free()
	d.queue.Release()
	d.dev.Release()
	d.adapter.Release()
	d.inst.Release()
}
