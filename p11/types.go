package p11

// SlotID is a slot's ID (CK_SLOT_ID). Each reader has two, fixed for
// its name for the module's lifetime.
type SlotID uint

// SessionHandle is a session's handle (CK_SESSION_HANDLE).
type SessionHandle uint

// ObjectHandle is an object's handle (CK_OBJECT_HANDLE); it names the
// card insertion and the object (see handleOf).
type ObjectHandle uint

// MechanismType is a mechanism type (CK_MECHANISM_TYPE, ck.CKM_*).
type MechanismType uint

// Version is a CK_VERSION.
type Version struct{ Major, Minor byte }

// Info is CK_INFO. Strings are unpadded; the C layer pads them.
type Info struct {
	CryptokiVersion    Version
	ManufacturerID     string
	Flags              uint
	LibraryDescription string
	LibraryVersion     Version
}

// SlotInfo is CK_SLOT_INFO.
type SlotInfo struct {
	Description, ManufacturerID      string
	Flags                            uint
	HardwareVersion, FirmwareVersion Version
}

// TokenInfo is CK_TOKEN_INFO.
type TokenInfo struct {
	Label, ManufacturerID, Model, SerialNumber string
	Flags                                      uint
	MaxSessionCount, SessionCount, MaxRwSessionCount, RwSessionCount, MaxPinLen, MinPinLen,
	TotalPublicMemory, FreePublicMemory, TotalPrivateMemory, FreePrivateMemory uint
	HardwareVersion, FirmwareVersion Version
	UTCTime                          string
}

// MechanismInfo is CK_MECHANISM_INFO.
type MechanismInfo struct{ MinKeySize, MaxKeySize, Flags uint }

// SessionInfo is CK_SESSION_INFO.
type SessionInfo struct {
	SlotID                    SlotID
	State, Flags, DeviceError uint
}

// InitArgs describes the CK_C_INITIALIZE_ARGS the application passed.
type InitArgs struct {
	// Present is false when pInitArgs was NULL.
	Present bool
	// ReservedNonNil is true when pReserved was not NULL.
	ReservedNonNil bool
	// OSLockingOK and CantCreateOSThreads mirror the two flags.
	OSLockingOK, CantCreateOSThreads bool
	// MutexFuncs counts the non-NULL mutex callbacks (0..4).
	MutexFuncs int
}

// Attribute is one template entry copied from C.
type Attribute struct {
	Type  uint
	Value []byte
}

// AttrRequest is one entry of a C_GetAttributeValue template.
type AttrRequest struct {
	// Type is the attribute asked for.
	Type uint
	// HasBuf is true when pValue was not NULL; BufLen is ulValueLen as
	// passed in.
	HasBuf bool
	BufLen uint
	// Value is what to copy to pValue (set only when HasBuf and it fits);
	// Len is the ulValueLen to write back (CK_UNAVAILABLE_INFORMATION when
	// the value is not given).
	Value []byte
	Len   uint
}

// Mechanism is a CK_MECHANISM. Param is nil when pParameter was NULL.
type Mechanism struct {
	Type  MechanismType
	Param []byte
}

// OutBuf describes the caller's output buffer: whether it is NULL and its
// length.
type OutBuf struct {
	Nil bool
	Len uint
}
