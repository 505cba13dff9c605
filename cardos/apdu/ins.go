package apdu

// Class bytes the card answers.
const (
	// CLAISO is the interindustry class of ISO 7816-4 commands.
	CLAISO byte = 0x00
	// CLAProprietary is the class of the JPKI applet's own commands
	// (COMPUTE DIGITAL SIGNATURE) and JICSAP CHANGE KEY.
	CLAProprietary byte = 0x80
)

// Instruction bytes of the commands the module, the simulator and the
// diagnosis recorder use (ISO 7816-4 unless noted).
const (
	INSVerify              byte = 0x20 // VERIFY: with data a PIN, without it the tries query
	INSChangeReferenceData byte = 0x24 // CHANGE REFERENCE DATA: a new PIN (P1 01: new value only)
	INSComputeSignature    byte = 0x2A // CLA 80: the JPKI applet's PKCS#1 v1.5 signature
	INSChangeKey           byte = 0x32 // CLA 80: JICSAP CHANGE KEY (common / 住基 AP PINs)
	INSSelect              byte = 0xA4 // SELECT
	INSReadBinary          byte = 0xB0 // READ BINARY
	INSReadRecord          byte = 0xB2 // READ RECORD
	INSGetResponse         byte = 0xC0 // GET RESPONSE (after 61xx)
	// INSEnd is the iPhone smartphone credential's end command, 80 FC 00
	// 00, which physical cards refuse with 67 00 (soltia48/myna-card,
	// https://github.com/soltia48/myna-card) [S].
	INSEnd byte = 0xFC
)

// Parameter bytes of SELECT, VERIFY and CHANGE REFERENCE DATA.
const (
	SelectByDFName   byte = 0x04 // SELECT P1: an applet by its AID
	SelectEFUnderDF  byte = 0x02 // SELECT P1: an EF of the current DF by FID
	SelectMF         byte = 0x00 // SELECT P1: the MF
	SelectNoFCI      byte = 0x0C // SELECT P2: answer no FCI
	SelectFCI        byte = 0x00 // SELECT P2: answer the FCI
	RefCurrentEF     byte = 0x80 // VERIFY / CHANGE REFERENCE DATA P2: the selected PIN EF; SIGN P2: the selected key
	ChangeNewValue   byte = 0x01 // CHANGE REFERENCE DATA P1: the data is the new value only
	SignPKCS1Padding byte = 0x00 // COMPUTE DIGITAL SIGNATURE P1: PKCS#1 v1.5 over the bytes as given
)
