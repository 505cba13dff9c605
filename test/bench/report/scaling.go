package report

import "fmt"

// scaling writes section 4: the cost of searches and attribute reads
// with many sessions, and the p11 Go benchmarks.
func (r *report) scaling() error {
	so, sh := r.d.ScaleOurs, r.d.ScaleSoftHSM
	n := min(len(so), len(sh))
	if n == 0 {
		return fmt.Errorf("scale-ours.json has %d points and scale-softhsm.json %d: rerun test/bench.sh", len(so), len(sh))
	}
	r.add("\n## 4. Scaling\n")
	first, last := 0, n-1
	r.addf("Ours / SoftHSM2 per call, %d → %d sessions: find **%.2f** → **%.2f**, get-attribute **%.2f** → **%.2f**.\n",
		so[first].Sessions, so[last].Sessions, so[first].FindUs/sh[first].FindUs, so[last].FindUs/sh[last].FindUs,
		so[first].GetAttrUs/sh[first].GetAttrUs, so[last].GetAttrUs/sh[last].GetAttrUs)
	r.add("Through the .so (miekg/pkcs11; ours with the in-process simulated card), microseconds per call: a whole search " +
		"(C_FindObjectsInit + C_FindObjects + C_FindObjectsFinal, all objects) and C_GetAttributeValue(CKA_LABEL) of the first object found (size + value), " +
		"spread over all open sessions:\n")
	r.add("| sessions | ours find | SoftHSM2 find | ours get-attribute | SoftHSM2 get-attribute | ours open-session |")
	r.add("|---:|---:|---:|---:|---:|---:|")
	for i := 0; i < n; i++ {
		a, h := so[i], sh[i]
		r.addf("| %d | %.1f | %.1f | %.1f | %.1f | %.1f |", a.Sessions, a.FindUs, h.FindUs, a.GetAttrUs, h.GetAttrUs, a.OpenSessionUs)
	}
	r.add("\nGo `testing.B` in p11 (`go test ./p11 -bench 'FindObjects|GetAttributeValue|WaitForSlotEvent'`); WaitForSlotEvent " +
		"`insert` is the time from a card insertion in the last of N readers to the blocked call's return, `poll` a non-blocking call with no change:\n")
	r.add("```")
	r.md = append(r.md, r.d.GoBench...)
	r.add("```")
	return nil
}
