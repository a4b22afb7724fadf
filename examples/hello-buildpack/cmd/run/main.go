// Command run is the whole buildpack: invoked as bin/detect or bin/build (symlinks to bin/run),
// it follows the Buildpack API 0.10 contract with the standard library only.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

const appFile = "hello.txt"

func main() {
	phase := filepath.Base(os.Args[0])
	var err error
	switch phase {
	case "detect":
		os.Exit(detect())
	case "build":
		err = build()
	default:
		err = fmt.Errorf("invoke as bin/detect or bin/build, not %q", phase)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hello-buildpack:", err)
		os.Exit(1)
	}
}

// detect passes (0) when the app has hello.txt and fails (100) otherwise.
func detect() int {
	if _, err := os.Stat(appFile); err != nil {
		fmt.Printf("hello-buildpack: no %s in the app, skipping (%s/%s)\n", appFile, runtime.GOOS, runtime.GOARCH)
		return 100
	}
	fmt.Printf("hello-buildpack: detected %s (%s/%s)\n", appFile, runtime.GOOS, runtime.GOARCH)
	return 0
}

// build contributes a launch layer holding the greeting and a "web" process that prints it.
func build() error {
	layersDir := os.Getenv("CNB_LAYERS_DIR")
	if layersDir == "" && len(os.Args) > 1 {
		layersDir = os.Args[1] // Buildpack API < 0.8 passes it as the first argument
	}
	if layersDir == "" {
		return fmt.Errorf("CNB_LAYERS_DIR is not set")
	}
	greeting, err := os.ReadFile(appFile)
	if err != nil {
		return err
	}
	layer := filepath.Join(layersDir, "hello")
	if err := os.MkdirAll(layer, 0o755); err != nil {
		return err
	}
	message := strings.TrimSpace(string(greeting))
	if err := os.WriteFile(filepath.Join(layer, "greeting.txt"), []byte(message+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(layersDir+"/hello.toml", []byte("[types]\n  launch = true\n"), 0o644); err != nil {
		return err
	}
	launch := fmt.Sprintf("[[processes]]\n  type = \"web\"\n  command = [\"cat\", %q]\n  default = true\n", filepath.Join(layer, "greeting.txt"))
	if err := os.WriteFile(filepath.Join(layersDir, "launch.toml"), []byte(launch), 0o644); err != nil {
		return err
	}
	fmt.Printf("hello-buildpack: built for %s/%s: %s\n", runtime.GOOS, runtime.GOARCH, message)
	return nil
}
