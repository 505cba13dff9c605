// Package sim is a My Number Card simulator: the JPKI applet with its two
// RSA-2048 keys, certificates, PINs and retry counters, answering exactly
// the bytes a real card answers (cardos/jpki/FACTS.md lists the facts and
// their sources).
//
// One state machine (Card) is usable two ways:
//
//   - in-process: Card.Process answers one C-APDU, and Reader/Context give
//     a cardos.Context whose transports speak to the card, with
//     transactions, resets by other applications, removal and timeouts;
//   - as a virtual card behind vsmartcard's vpcd (ServeVPCD), so that
//     pcscd, OpenSC and the project's PKCS#11 module see a real reader.
//
// A card opened with Open keeps its persistent memory (keys, certificates,
// PIN values, retry counters) in a JSON state file that is rewritten
// atomically at every change and reloaded when another process changed it,
// so a lockout survives restarts and is shared between processes.
//
// Behaviour FACTS.md marks as unknown (§14) is configurable through Quirks,
// with the defaults documented on each field.
//
// Options.Device makes the same keys answer as a smartphone credential
// (スマホ用電子証明書, Android or iPhone) held to an NFC reader: what is
// known of it is listed on Device, and every unknown is a Phone* quirk.
package sim
