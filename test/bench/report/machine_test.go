package report

import "testing"

func TestCPUModel(t *testing.T) {
	for _, tc := range []struct{ name, cpuinfo, want string }{
		{"first of two", "processor\t: 0\nmodel name\t: AMD EPYC\nprocessor\t: 1\nmodel name\t: Other\n", "AMD EPYC"},
		{"colon in the value", "model name : Intel(R) Xeon(R) CPU @ 2.20GHz: rev 2\n", "Intel(R) Xeon(R) CPU @ 2.20GHz: rev 2"},
		{"none (arm64 has no model name)", "processor\t: 0\nBogoMIPS\t: 50.00\n", ""},
		{"empty", "", ""},
	} {
		if got := CPUModel(tc.cpuinfo); got != tc.want {
			t.Errorf("%s: CPUModel = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestMachine(t *testing.T) {
	if got, want := Machine("Linux 6.1.0 x86_64\n", 2, "AMD EPYC"), "Linux 6.1.0 x86_64, 2 CPUs, AMD EPYC"; got != want {
		t.Errorf("Machine = %q, want %q", got, want)
	}
}

func TestDetectKeepsWhatIsGiven(t *testing.T) {
	in := Info{Machine: "m", CPUs: 3, OpenSCVersion: "o", SoftHSMVersion: "s", Commit: "c"}
	if got := Detect(in, t.TempDir()); got != in {
		t.Errorf("Detect changed given fields: %+v", got)
	}
}

func TestDetectFillsEveryField(t *testing.T) {
	got := Detect(Info{}, t.TempDir()) // not a git tree: the commit is unknown
	if got.CPUs < 1 || got.Machine == "" || got.OpenSCVersion == "" || got.SoftHSMVersion == "" {
		t.Errorf("Detect left a field empty: %+v", got)
	}
	if got.Commit != unknown {
		t.Errorf("Commit outside a git tree = %q, want %q", got.Commit, unknown)
	}
}
