package main

// How a function is answered.
type impl int

const (
	inGo         impl = iota // forwarded to the Go export go<Name without C_>
	notSupported             // CKR_FUNCTION_NOT_SUPPORTED in C
	notParallel              // CKR_FUNCTION_NOT_PARALLEL in C (legacy parallel functions)
	handWritten              // defined in glue.c
)

// function is one PKCS#11 entry point.
type function struct {
	Name   string // C name, e.g. "C_Sign"
	Params string // C parameter list as in the specification
	Impl   impl
}

// Common parameter fragments.
const (
	sess = "CK_SESSION_HANDLE hSession"
	mech = "CK_MECHANISM_PTR pMechanism"
)

// functions240 lists the PKCS#11 2.40 functions in CK_FUNCTION_LIST order.
var functions240 = []function{
	{"C_Initialize", "CK_VOID_PTR pInitArgs", inGo},
	{"C_Finalize", "CK_VOID_PTR pReserved", inGo},
	{"C_GetInfo", "CK_INFO_PTR pInfo", inGo},
	{"C_GetFunctionList", "CK_FUNCTION_LIST_PTR_PTR ppFunctionList", handWritten},
	{"C_GetSlotList", "CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount", inGo},
	{"C_GetSlotInfo", "CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo", inGo},
	{"C_GetTokenInfo", "CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo", inGo},
	{"C_GetMechanismList", "CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList, CK_ULONG_PTR pulCount", inGo},
	{"C_GetMechanismInfo", "CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo", inGo},
	{"C_InitToken", "CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pLabel", inGo},
	{"C_InitPIN", sess + ", CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen", inGo},
	{"C_SetPIN", sess + ", CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen, CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen", inGo},
	{"C_OpenSession", "CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession", inGo},
	{"C_CloseSession", sess, inGo},
	{"C_CloseAllSessions", "CK_SLOT_ID slotID", inGo},
	{"C_GetSessionInfo", sess + ", CK_SESSION_INFO_PTR pInfo", inGo},
	{"C_GetOperationState", sess + ", CK_BYTE_PTR pOperationState, CK_ULONG_PTR pulOperationStateLen", notSupported},
	{"C_SetOperationState", sess + ", CK_BYTE_PTR pOperationState, CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey, CK_OBJECT_HANDLE hAuthenticationKey", notSupported},
	{"C_Login", sess + ", CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen", inGo},
	{"C_Logout", sess, inGo},
	{"C_CreateObject", sess + ", CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject", inGo},
	{"C_CopyObject", sess + ", CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phNewObject", inGo},
	{"C_DestroyObject", sess + ", CK_OBJECT_HANDLE hObject", inGo},
	{"C_GetObjectSize", sess + ", CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize", inGo},
	{"C_GetAttributeValue", sess + ", CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount", inGo},
	{"C_SetAttributeValue", sess + ", CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount", inGo},
	{"C_FindObjectsInit", sess + ", CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount", inGo},
	{"C_FindObjects", sess + ", CK_OBJECT_HANDLE_PTR phObject, CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount", inGo},
	{"C_FindObjectsFinal", sess, inGo},
	{"C_EncryptInit", sess + ", " + mech + ", CK_OBJECT_HANDLE hKey", notSupported},
	{"C_Encrypt", sess + ", CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen", notSupported},
	{"C_EncryptUpdate", sess + ", CK_BYTE_PTR pPart, CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen", notSupported},
	{"C_EncryptFinal", sess + ", CK_BYTE_PTR pLastEncryptedPart, CK_ULONG_PTR pulLastEncryptedPartLen", notSupported},
	{"C_DecryptInit", sess + ", " + mech + ", CK_OBJECT_HANDLE hKey", notSupported},
	{"C_Decrypt", sess + ", CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen", notSupported},
	{"C_DecryptUpdate", sess + ", CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen", notSupported},
	{"C_DecryptFinal", sess + ", CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen", notSupported},
	{"C_DigestInit", sess + ", " + mech, inGo},
	{"C_Digest", sess + ", CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen", inGo},
	{"C_DigestUpdate", sess + ", CK_BYTE_PTR pPart, CK_ULONG ulPartLen", inGo},
	{"C_DigestKey", sess + ", CK_OBJECT_HANDLE hKey", notSupported},
	{"C_DigestFinal", sess + ", CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen", inGo},
	{"C_SignInit", sess + ", " + mech + ", CK_OBJECT_HANDLE hKey", inGo},
	{"C_Sign", sess + ", CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen", inGo},
	{"C_SignUpdate", sess + ", CK_BYTE_PTR pPart, CK_ULONG ulPartLen", inGo},
	{"C_SignFinal", sess + ", CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen", inGo},
	{"C_SignRecoverInit", sess + ", " + mech + ", CK_OBJECT_HANDLE hKey", notSupported},
	{"C_SignRecover", sess + ", CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen", notSupported},
	{"C_VerifyInit", sess + ", " + mech + ", CK_OBJECT_HANDLE hKey", inGo},
	{"C_Verify", sess + ", CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen", inGo},
	{"C_VerifyUpdate", sess + ", CK_BYTE_PTR pPart, CK_ULONG ulPartLen", inGo},
	{"C_VerifyFinal", sess + ", CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen", inGo},
	{"C_VerifyRecoverInit", sess + ", " + mech + ", CK_OBJECT_HANDLE hKey", notSupported},
	{"C_VerifyRecover", sess + ", CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen", notSupported},
	{"C_DigestEncryptUpdate", sess + ", CK_BYTE_PTR pPart, CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen", notSupported},
	{"C_DecryptDigestUpdate", sess + ", CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen", notSupported},
	{"C_SignEncryptUpdate", sess + ", CK_BYTE_PTR pPart, CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen", notSupported},
	{"C_DecryptVerifyUpdate", sess + ", CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen", notSupported},
	{"C_GenerateKey", sess + ", " + mech + ", CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey", notSupported},
	{"C_GenerateKeyPair", sess + ", " + mech + ", CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount, CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount, CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey", notSupported},
	{"C_WrapKey", sess + ", " + mech + ", CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen", notSupported},
	{"C_UnwrapKey", sess + ", " + mech + ", CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey, CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey", notSupported},
	{"C_DeriveKey", sess + ", " + mech + ", CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey", notSupported},
	{"C_SeedRandom", sess + ", CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen", inGo},
	{"C_GenerateRandom", sess + ", CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen", inGo},
	{"C_GetFunctionStatus", sess, notParallel},
	{"C_CancelFunction", sess, notParallel},
	{"C_WaitForSlotEvent", "CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved", inGo},
}

// functions30 lists the functions PKCS#11 3.0 appends to CK_FUNCTION_LIST_3_0,
// in the specification's order.
var functions30 = []function{
	{"C_GetInterfaceList", "CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount", handWritten},
	{"C_GetInterface", "CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion, CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags", handWritten},
	{"C_LoginUser", sess + ", CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen", inGo},
	{"C_SessionCancel", sess + ", CK_FLAGS flags", inGo},
	{"C_MessageEncryptInit", sess + ", " + mech + ", CK_OBJECT_HANDLE hKey", notSupported},
	{"C_EncryptMessage", sess + ", CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData, CK_ULONG ulAssociatedDataLen, CK_BYTE_PTR pPlaintext, CK_ULONG ulPlaintextLen, CK_BYTE_PTR pCiphertext, CK_ULONG_PTR pulCiphertextLen", notSupported},
	{"C_EncryptMessageBegin", sess + ", CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData, CK_ULONG ulAssociatedDataLen", notSupported},
	{"C_EncryptMessageNext", sess + ", CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, CK_BYTE_PTR pPlaintextPart, CK_ULONG ulPlaintextPartLen, CK_BYTE_PTR pCiphertextPart, CK_ULONG_PTR pulCiphertextPartLen, CK_FLAGS flags", notSupported},
	{"C_MessageEncryptFinal", sess, notSupported},
	{"C_MessageDecryptInit", sess + ", " + mech + ", CK_OBJECT_HANDLE hKey", notSupported},
	{"C_DecryptMessage", sess + ", CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData, CK_ULONG ulAssociatedDataLen, CK_BYTE_PTR pCiphertext, CK_ULONG ulCiphertextLen, CK_BYTE_PTR pPlaintext, CK_ULONG_PTR pulPlaintextLen", notSupported},
	{"C_DecryptMessageBegin", sess + ", CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData, CK_ULONG ulAssociatedDataLen", notSupported},
	{"C_DecryptMessageNext", sess + ", CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, CK_BYTE_PTR pCiphertextPart, CK_ULONG ulCiphertextPartLen, CK_BYTE_PTR pPlaintextPart, CK_ULONG_PTR pulPlaintextPartLen, CK_FLAGS flags", notSupported},
	{"C_MessageDecryptFinal", sess, notSupported},
	{"C_MessageSignInit", sess + ", " + mech + ", CK_OBJECT_HANDLE hKey", notSupported},
	{"C_SignMessage", sess + ", CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen", notSupported},
	{"C_SignMessageBegin", sess + ", CK_VOID_PTR pParameter, CK_ULONG ulParameterLen", notSupported},
	{"C_SignMessageNext", sess + ", CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen", notSupported},
	{"C_MessageSignFinal", sess, notSupported},
	{"C_MessageVerifyInit", sess + ", " + mech + ", CK_OBJECT_HANDLE hKey", notSupported},
	{"C_VerifyMessage", sess + ", CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen", notSupported},
	{"C_VerifyMessageBegin", sess + ", CK_VOID_PTR pParameter, CK_ULONG ulParameterLen", notSupported},
	{"C_VerifyMessageNext", sess + ", CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen", notSupported},
	{"C_MessageVerifyFinal", sess, notSupported},
}
