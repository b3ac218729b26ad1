// Command dist packs the binaries built by `make dist` into one archive per platform —
// .tar.gz for Linux, .zip for Windows — with the example configurations, the Grafana
// dashboard and, for Linux, the systemd unit; then writes SHA256SUMS of the archives and
// of the .deb and .rpm packages beside them.
package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

func main() {
	dir := flag.String("dir", "dist", "folder with <os>_<arch>/ binaries; archives are written here")
	version := flag.String("version", "dev", "version in the archive names")
	flag.Parse()
	if err := run(*dir, *version); err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
}

// extras are copied into every archive: source path → name in the archive.
var extras = [][2]string{
	{"README.md", "README.md"},
	{"LICENSE", "LICENSE"},
	{"telegraf.conf.example", "telegraf.conf.example"},
	{"plugins/inputs/qliksense_license/sample.conf", "qliksense-license.conf.example"},
	{"plugins/inputs/qliksense_license/README.md", "METRICS.md"},
	{"grafana/qliksense-license-influxql.json", "grafana/qliksense-license-influxql.json"},
	{"grafana/qliksense-license-alerts.yaml", "grafana/qliksense-license-alerts.yaml"},
}

func run(dir, version string) error {
	platforms, err := filepath.Glob(filepath.Join(dir, "*_*"))
	if err != nil {
		return err
	}
	var archives []string
	for _, p := range platforms {
		fi, err := os.Stat(p)
		if err != nil || !fi.IsDir() {
			continue
		}
		plat := filepath.Base(p)
		files := map[string]string{} // name in archive → source
		bins, _ := os.ReadDir(p)
		for _, b := range bins {
			files[b.Name()] = filepath.Join(p, b.Name())
		}
		for _, e := range extras {
			files[e[1]] = e[0]
		}
		// The documentation the README links to: docs/*.md and its images.
		for _, pattern := range []string{"docs/*.md", "docs/images/*.png"} {
			docs, err := filepath.Glob(pattern)
			if err != nil {
				return err
			}
			for _, d := range docs {
				files[filepath.ToSlash(d)] = d
			}
		}
		if strings.HasPrefix(plat, "linux_") {
			files["systemd/qliksense-license-release.service"] = "packaging/systemd/qliksense-license-release.service"
		}
		if strings.HasPrefix(plat, "windows_") {
			files["install.ps1"] = "packaging/windows/install.ps1"
			files["uninstall.ps1"] = "packaging/windows/uninstall.ps1"
		}
		base := fmt.Sprintf("qliksense-license_%s_%s", version, plat)
		var out string
		if strings.HasPrefix(plat, "windows_") {
			out = filepath.Join(dir, base+".zip")
			err = writeZip(out, base, files)
		} else {
			out = filepath.Join(dir, base+".tar.gz")
			err = writeTarGz(out, base, files)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", out, err)
		}
		archives = append(archives, out)
		fmt.Println(out)
	}
	// The .deb and .rpm packages make packages wrote beside them.
	for _, pattern := range []string{"*.deb", "*.rpm"} {
		pkgs, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return err
		}
		archives = append(archives, pkgs...)
	}
	sort.Strings(archives)
	var sums strings.Builder
	for _, a := range archives {
		sum, err := sha256File(a)
		if err != nil {
			return err
		}
		fmt.Fprintf(&sums, "%s  %s\n", sum, filepath.Base(a))
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(sums.String()), 0o644)
}

func writeTarGz(path, base string, files map[string]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		src := files[name]
		fi, err := os.Stat(src)
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		hdr.Name = base + "/" + name
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if err := copyFile(tw, src); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(path, base string, files map[string]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		src := files[name]
		fi, err := os.Stat(src)
		if err != nil {
			return err
		}
		hdr, err := zip.FileInfoHeader(fi)
		if err != nil {
			return err
		}
		hdr.Name, hdr.Method = base+"/"+name, zip.Deflate
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if err := copyFile(w, src); err != nil {
			return err
		}
	}
	return zw.Close()
}

func copyFile(w io.Writer, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
