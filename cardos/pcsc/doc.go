// Package pcsc is a cardos.Context over the system's PC/SC service
// (pcsc-lite's pcscd on Linux) through github.com/ebfe/scard. It is the
// only package of the module that needs cgo for card access.
//
// Every card connection gets its own PC/SC context, and so does every
// WaitChange, because pcsc-lite serializes the calls made on one context:
// a card waiting for another application's transaction must not block the
// reader list or other cards.
//
// PC/SC errors become the cardos sentinels (errors.Is) with the scard.Error
// still wrapped:
//
//	SCARD_W_RESET_CARD                          → cardos.ErrCardReset (after reconnecting)
//	SCARD_W_REMOVED_CARD, SCARD_E_NO_SMARTCARD  → cardos.ErrCardRemoved (cardos.ErrNoCard on Connect)
//	SCARD_E_READER_UNAVAILABLE, _UNKNOWN_READER → cardos.ErrReaderGone
//	SCARD_E_NO_SERVICE, SCARD_E_SERVICE_STOPPED → cardos.ErrNoService
//	SCARD_E_TIMEOUT                             → cardos.ErrTimeout
//	SCARD_F_COMM_ERROR, SCARD_W_UNRESPONSIVE_CARD, SCARD_W_UNPOWERED_CARD,
//	SCARD_E_COMM_DATA_LOST                      → cardos.ErrCommFailure
//
// When pcscd stops, the Context reports cardos.ErrNoService and
// establishes a new PC/SC context at the next call, so a restarted pcscd
// is picked up without reloading the module.
package pcsc
