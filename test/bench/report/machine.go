package report

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// unknown stands for a fact Detect could not read.
const unknown = "?"

// CPUModel returns the first "model name" of the text of /proc/cpuinfo,
// or "" when there is none.
func CPUModel(cpuinfo string) string {
	sc := bufio.NewScanner(strings.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Machine describes the machine as test/bench.sh did: "uname -srm, N
// CPUs, CPU model".
func Machine(uname string, cpus int, cpuModel string) string {
	return fmt.Sprintf("%s, %d CPUs, %s", strings.TrimSpace(uname), cpus, cpuModel)
}

// output runs a command and returns its trimmed output, unknown on any
// error.
func output(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil || len(strings.TrimSpace(string(out))) == 0 {
		return unknown
	}
	return strings.TrimSpace(string(out))
}

// packageVersion returns the installed version of a Debian package.
func packageVersion(pkg string) string { return output("dpkg-query", "-W", "-f", "${Version}", pkg) }

// Detect fills the fields of info left empty from this machine: CPUs
// (the CPUs this process may use), Machine (uname, CPUs and
// /proc/cpuinfo), the versions of the Debian packages opensc and
// softhsm2, and the short commit of the git tree at root.
func Detect(info Info, root string) Info {
	if info.CPUs == 0 {
		info.CPUs = runtime.NumCPU()
	}
	if info.Machine == "" {
		b, _ := os.ReadFile("/proc/cpuinfo")
		info.Machine = Machine(output("uname", "-srm"), info.CPUs, CPUModel(string(b)))
	}
	if info.OpenSCVersion == "" {
		info.OpenSCVersion = packageVersion("opensc")
	}
	if info.SoftHSMVersion == "" {
		info.SoftHSMVersion = packageVersion("softhsm2")
	}
	if info.Commit == "" {
		info.Commit = output("git", "-C", root, "rev-parse", "--short", "HEAD")
	}
	return info
}
