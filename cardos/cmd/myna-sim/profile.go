package main

import (
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/diag"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// behaviour reads the --profile report.
func (cfg config) behaviour() (diag.Behaviour, error) {
	rep, err := diag.ReadReport(cfg.profileReport)
	if err != nil {
		return diag.Behaviour{}, fmt.Errorf("--profile: %w", err)
	}
	b, err := rep.Behaviour()
	if err != nil {
		return b, fmt.Errorf("--profile %s: %w", cfg.profileReport, err)
	}
	return b, nil
}

// applyProfile stores the report's quirk and retry counters on c.
func (cfg config) applyProfile(c *sim.Card) error {
	if cfg.profileReport == "" {
		return nil
	}
	b, err := cfg.behaviour()
	if err != nil {
		return err
	}
	if err := b.Apply(c); err != nil {
		return fmt.Errorf("--profile: %w", err)
	}
	fmt.Fprintf(cfg.stderr, "myna-sim: behaving as the reported card: %s\n", b)
	return nil
}
