package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is what `mailfs version` and status say of this binary: the
// main module's version, the VCS revision `go build` embedded, whether
// the tree it was built from had uncommitted changes, and the Go that
// built it. A bug report quotes it.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Sprintf("unknown version (no build information), %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	return versionOf(bi, runtime.GOOS+"/"+runtime.GOARCH)
}

// versionOf words build information in one line.
func versionOf(bi *debug.BuildInfo, platform string) string {
	var revision, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	switch {
	case revision == "":
		v += ", revision unknown (built outside a git checkout, by go run, or with -buildvcs=false)"
	case modified == "true":
		v += ", revision " + revision + " with uncommitted changes"
	default:
		v += ", revision " + revision
	}
	return v + ", " + bi.GoVersion + " " + platform
}
