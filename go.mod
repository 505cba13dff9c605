module github.com/myna-pkcs11/myna-pkcs11

go 1.26

require (
	github.com/ebfe/scard v0.0.0-20241214075232-7af069cabc25
	github.com/godbus/dbus/v5 v5.2.4
	github.com/miekg/pkcs11 v1.1.2
	github.com/stretchr/testify v1.12.1
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.27.0 // indirect
)
